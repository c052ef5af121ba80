//! Any text given as a phone number: parsing never panics, and a number
//! it accepts is E.164, parses again to itself, and passes the store's check.
#![no_main]

use call_core::PhoneNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(number) = PhoneNumber::parse(input) {
        let text = number.as_str();
        assert!(text.starts_with('+'), "{text}");
        assert!(text[1..].bytes().all(|b| b.is_ascii_digit()), "{text}");
        assert!((3..=16).contains(&text.len()), "{text}");
        assert_eq!(PhoneNumber::parse(text).as_ref(), Ok(&number), "not idempotent: {input:?}");
        assert_eq!(PhoneNumber::from_e164(text).as_ref(), Ok(&number));
    }
});
