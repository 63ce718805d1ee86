//! The words of `message` and `error` in days of format 3: tantivy's
//! `default` tokenizer (split on what is not a letter or digit,
//! lower-cased), except that a word the index does not keep is replaced
//! by a mark term instead of being dropped.
//!
//! Not kept: words of 40 bytes or more (tantivy's own limit), marked
//! [`LONG_MARK`], and words that look like ids — 8 bytes or more of hex
//! digits, at least two of them decimal (UUID parts, trace ids, hashes,
//! long numbers), marked [`ID_MARK`]. Such words are nearly unique per
//! line, so as terms they would fill the dictionary without ever being
//! shared. The marks keep them findable: a lookup of such a word takes the
//! lines with its mark, and a piece of a word takes the lines with a mark
//! of a word it could lie inside (any long word; an id only when the piece
//! is itself hex), and checks them on the text.

use tantivy::tokenizer::{
    LowerCaser, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

/// The tokenizer's name in the schema of format 3.
pub const WORDS_TOKENIZER: &str = "belfry_words";
/// The term standing for every id-like word. Marks hold a character the
/// tokenizer splits on, so no real word can be one.
pub const ID_MARK: &str = "~id~";
/// The term standing for every word of 40 bytes or more.
pub const LONG_MARK: &str = "~long~";
/// Words of this many bytes or more are not kept (tantivy's limit).
const MAX_WORD_BYTES: usize = 40;
/// Hex words this long with at least two decimal digits look like ids.
const ID_MIN_BYTES: usize = 8;

fn is_hex(word: &str) -> bool {
    word.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The mark the index holds instead of `word` (lower-cased, one token),
/// or `None` when it holds the word itself.
pub fn word_mark(word: &str) -> Option<&'static str> {
    if word.len() >= MAX_WORD_BYTES {
        return Some(LONG_MARK);
    }
    let id_like =
        word.len() >= ID_MIN_BYTES && is_hex(word) && word.bytes().filter(u8::is_ascii_digit).count() >= 2;
    id_like.then_some(ID_MARK)
}

/// The marks of the words a piece of a word (lower-cased) could lie
/// inside: any long word, and an id when the piece is hex.
pub fn marks_around(piece: &str) -> Vec<&'static str> {
    let mut out = vec![LONG_MARK];
    if is_hex(piece) {
        out.push(ID_MARK);
    }
    out
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

/// Replaces every word the index does not keep by its mark.
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
        if let Some(mark) = word_mark(&token.text) {
            token.text.clear();
            token.text.push_str(mark);
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
    use proptest::prelude::*;

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
            "Task grades.export[5E6F7A8B-9c0d-4e1f] took 1234 ms {long} at 1764936000 on login12345"
        ));
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "task",
                "grades",
                "export",
                ID_MARK,
                "9c0d",
                "4e1f",
                "took",
                "1234",
                "ms",
                LONG_MARK,
                "at",
                ID_MARK,
                "on",
                "login12345"
            ]
        );
        // Positions are kept, so phrases around a mark still line up.
        assert_eq!(got[3].1, 3);
        assert_eq!(got[4].1, 4);
    }

    #[test]
    fn what_is_kept() {
        for kept in ["database", "utf8mb4", "login12345", "deadbeef", "a1b2c3", "2025"] {
            assert_eq!(word_mark(kept), None, "{kept}");
        }
        assert_eq!(word_mark(&"y".repeat(39)), None);
        assert_eq!(word_mark(&"y".repeat(40)), Some(LONG_MARK));
        assert_eq!(word_mark("5e6f7a8b"), Some(ID_MARK));
        assert_eq!(word_mark("20300000"), Some(ID_MARK));
        assert_eq!(marks_around("timeout"), [LONG_MARK]);
        assert_eq!(marks_around("ace1"), [LONG_MARK, ID_MARK]);
        for mark in [ID_MARK, LONG_MARK] {
            assert!(!mark.chars().all(char::is_alphanumeric));
        }
    }

    proptest! {
        /// The index holds every word it keeps, the mark in place of the
        /// others, at the same positions: what `words` and
        /// `is_indexed_word` tell a lookup is what the index did.
        #[test]
        fn the_analyzer_is_words_with_the_mark_for_what_is_not_kept(
            text in "([a-zA-Z0-9éİß]{1,50}[ .:_\\-\\[\\]]{0,2}){0,12}"
        ) {
            let indexed: Vec<String> = tokens(&text).into_iter().map(|(t, _)| t).collect();
            let expected: Vec<String> = words(&text)
                .into_iter()
                .map(|w| word_mark(&w).map_or(w, str::to_string))
                .collect();
            prop_assert_eq!(indexed, expected);
            for (i, (_, position)) in tokens(&text).into_iter().enumerate() {
                prop_assert_eq!(position, i);
            }
        }
    }
}
