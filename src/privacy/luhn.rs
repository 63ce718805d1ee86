//! The Luhn checksum payment card numbers carry, which tells a card
//! number from an order id or a timestamp of the same length.

/// Whether the ASCII digits of `text` (other characters skipped) pass
/// the Luhn check. Fewer than two digits never do.
pub fn luhn_valid(text: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    for b in text.bytes().rev().filter(u8::is_ascii_digit) {
        let d = u32::from(b - b'0');
        sum += if !count.is_multiple_of(2) {
            let doubled = d * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            d
        };
        count += 1;
    }
    count >= 2 && sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_card_numbers_pass() {
        for n in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5555-5555-5555-4444",
            "378282246310005",
            "6011111111111117",
        ] {
            assert!(luhn_valid(n), "{n}");
        }
    }

    #[test]
    fn one_wrong_digit_fails() {
        for n in ["4111111111111112", "5555555555554445", "1234567890123", "0", ""] {
            assert!(!luhn_valid(n), "{n}");
        }
    }
}
