//! The words of `message` and `error` in days of format 3: tantivy's
//! `default` tokenizer (split on what is not a letter or digit,
//! lower-cased), except that a word the index does not keep is replaced
//! by one mark term instead of being dropped.
//!
//! Not kept: words of 40 bytes or more (tantivy's own limit), and words
//! that look like ids — 8 bytes or more with at least two digits (hex
//! ids, UUID parts, long numbers). Such words are nearly unique per line,
//! so as terms they would fill the dictionary without ever being shared.
//! The mark keeps them findable: a search for such a word, or for a piece
//! of any word (which may lie inside one), also takes the lines that
//! carry the mark, and checks them on the text.

use tantivy::tokenizer::{
    LowerCaser, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

/// The tokenizer's name in the schema of format 3.
pub const WORDS_TOKENIZER: &str = "belfry_words";
/// The term standing for every word not kept. It holds a character the
/// tokenizer splits on, so no real word can be it.
pub const UNINDEXED_MARK: &str = "~unindexed~";
/// Words of this many bytes or more are not kept (tantivy's limit).
const MAX_WORD_BYTES: usize = 40;
/// Words this long with at least two digits look like ids.
const ID_MIN_BYTES: usize = 8;

/// Whether the index keeps `word` (lower-cased, one token) as a term.
pub fn is_indexed_word(word: &str) -> bool {
    if word.len() >= MAX_WORD_BYTES {
        return false;
    }
    word.len() < ID_MIN_BYTES || word.bytes().filter(u8::is_ascii_digit).count() < 2
}

/// The analyzer days of format 3 index `message` and `error` with.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(MarkUnindexed)
        .build()
}

/// Registers [`WORDS_TOKENIZER`] with an index's (or a query parser's)
/// tokenizers.
pub fn register(tokenizers: &TokenizerManager) {
    tokenizers.register(WORDS_TOKENIZER, analyzer());
}

/// The lower-cased words of `text` as the tokenizer splits them, before
/// any is replaced by the mark.
pub fn words(text: &str) -> Vec<String> {
    let mut a = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .build();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

/// Replaces every word the index does not keep by [`UNINDEXED_MARK`].
#[derive(Clone)]
struct MarkUnindexed;

impl TokenFilter for MarkUnindexed {
    type Tokenizer<T: Tokenizer> = MarkUnindexedWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MarkUnindexedWrapper<T> {
        MarkUnindexedWrapper(tokenizer)
    }
}

#[derive(Clone)]
struct MarkUnindexedWrapper<T>(T);

impl<T: Tokenizer> Tokenizer for MarkUnindexedWrapper<T> {
    type TokenStream<'a> = MarkUnindexedStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MarkUnindexedStream(self.0.token_stream(text))
    }
}

struct MarkUnindexedStream<T>(T);

impl<T: TokenStream> TokenStream for MarkUnindexedStream<T> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let token = self.0.token_mut();
        if !is_indexed_word(&token.text) {
            token.text.clear();
            token.text.push_str(UNINDEXED_MARK);
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize)> {
        let mut a = analyzer();
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = s.next() {
            out.push((t.text.clone(), t.position));
        }
        out
    }

    #[test]
    fn ids_and_long_words_become_the_mark_in_their_place() {
        let long = "x".repeat(40);
        let got = tokens(&format!(
            "Task grades.export[5E6F7A8B-9c0d-4e1f] took 1234 ms {long} at 1764936000"
        ));
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "task",
                "grades",
                "export",
                UNINDEXED_MARK,
                "9c0d",
                "4e1f",
                "took",
                "1234",
                "ms",
                UNINDEXED_MARK,
                "at",
                UNINDEXED_MARK
            ]
        );
        // Positions are kept, so phrases around a mark still line up.
        assert_eq!(got[3].1, 3);
        assert_eq!(got[4].1, 4);
    }

    #[test]
    fn what_is_kept() {
        assert!(is_indexed_word("database"));
        assert!(is_indexed_word("utf8mb4"));
        assert!(is_indexed_word("ipv4address"));
        assert!(is_indexed_word(&"y".repeat(39)));
        assert!(!is_indexed_word(&"y".repeat(40)));
        assert!(!is_indexed_word("5e6f7a8b"));
        assert!(!is_indexed_word("20300000"));
        assert!(!UNINDEXED_MARK.chars().all(char::is_alphanumeric));
    }
}
