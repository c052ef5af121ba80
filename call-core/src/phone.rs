//! Phone numbers, validated and normalised to E.164.

use std::fmt;

use phonenumber::Mode;

use crate::ValidationError;

/// The most digits an E.164 number has, country code included.
const MAX_E164_DIGITS: usize = 15;

/// A valid phone number in E.164 form (`+14155550100`).
///
/// Parsing accepts the common ways people write a number in international
/// form (`+1 (415) 555-0100`, `+44 20 7946 0958`, `tel:+1-415-555-0100`)
/// and checks it against libphonenumber's metadata, so a number too short or
/// too long for its country is refused, not just a string of the wrong size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalises a number, reporting errors on the field `phone_number`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] saying why the value is not a valid number.
    pub fn parse(input: &str) -> Result<PhoneNumber, ValidationError> {
        PhoneNumber::parse_field("phone_number", input)
    }

    /// Parses and normalises a number, naming `field` in any error.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `field` saying why the value is not a valid number.
    pub fn parse_field(field: &'static str, input: &str) -> Result<PhoneNumber, ValidationError> {
        let invalid = |why: String| {
            ValidationError::new(field, format!("invalid phone number {input:?}: {why}"))
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("empty".into()));
        }
        if let Some(bad) =
            trimmed.chars().find(|c| !(c.is_ascii_digit() || " +-().tel:/".contains(*c)))
        {
            return Err(invalid(format!("{bad:?} is not allowed in a phone number")));
        }
        let international = trimmed.starts_with('+') || trimmed.starts_with("tel:+");
        if !international {
            return Err(invalid("must start with + and the country code".into()));
        }
        let number =
            phonenumber::parse(None, trimmed).map_err(|e| invalid(parse_error_reason(&e)))?;
        if !number.is_valid() {
            return Err(invalid(length_reason(&number)));
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        // libphonenumber's metadata passes some numbers longer than E.164
        // allows (found by fuzzing: +49 5544 434444 4446); the store would
        // then refuse to read them back.
        if e164.len() > MAX_E164_DIGITS + 1 {
            return Err(invalid(format!(
                "too long: an international number has at most {MAX_E164_DIGITS} digits"
            )));
        }
        Ok(PhoneNumber(e164))
    }

    /// Rebuilds a number that was validated before and kept in E.164 form
    /// (by a store): checks the form only (`+`, then 2 to 15 digits, the
    /// first not 0), not the country's numbering plan, which is costly.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `phone_number` when the text is not in E.164 form.
    pub fn from_e164(text: &str) -> Result<PhoneNumber, ValidationError> {
        let digits = text.strip_prefix('+').unwrap_or_default();
        let well_formed = (2..=MAX_E164_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !well_formed {
            return Err(ValidationError::new(
                "phone_number",
                format!("{text:?} is not in E.164 form"),
            ));
        }
        Ok(PhoneNumber(text.to_owned()))
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_error_reason(error: &phonenumber::ParseError) -> String {
    use phonenumber::ParseError as E;
    match error {
        E::NoNumber => "not a phone number".into(),
        E::InvalidCountryCode => "unknown country code".into(),
        E::TooShortAfterIdd | E::TooShortNsn => "too short".into(),
        E::TooLong => "too long".into(),
        E::MalformedInteger(_) => "malformed digits".into(),
    }
}

/// Why a parsed number is not valid: too short, too long, or no such number
/// range in its country.
fn length_reason(number: &phonenumber::PhoneNumber) -> String {
    let code = number.code().value();
    let national_len = number.national().to_string().len();
    // An invalid number has no region yet: take the lengths of its country code's regions.
    let lengths: Vec<u16> = phonenumber::metadata::DATABASE
        .by_code(&code)
        .unwrap_or_default()
        .iter()
        .flat_map(|meta| {
            let d = meta.descriptors();
            let by_type = [d.fixed_line(), d.mobile(), d.toll_free(), d.premium_rate(), d.voip()];
            let mut lengths = d.general().possible_length().to_vec();
            lengths
                .extend(by_type.into_iter().flatten().flat_map(|t| t.possible_length().to_vec()));
            lengths
        })
        .collect();
    let (min, max) = (lengths.iter().min(), lengths.iter().max());
    match (min, max) {
        (Some(&min), _) if national_len < usize::from(min) => {
            format!("too short for country code +{code}")
        }
        (_, Some(&max)) if national_len > usize::from(max) => {
            format!("too long for country code +{code}")
        }
        _ => format!("not a valid number for country code +{code}"),
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PhoneNumber {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<PhoneNumber, ValidationError> {
        PhoneNumber::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    fn check(input: &str, expected: Result<&str, &str>) {
        let actual = PhoneNumber::parse(input);
        match (actual, expected) {
            (Ok(number), Ok(e164)) => assert_eq!(number.as_str(), e164, "{input:?}"),
            (Err(error), Err(message)) => {
                assert_eq!(error.field(), "phone_number");
                assert_eq!(error.message(), message, "{input:?}");
            }
            (actual, expected) => panic!("{input:?}: got {actual:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn normalises_valid_numbers() {
        check("+14155550100", Ok("+14155550100"));
        check("+1 (415) 555-0100", Ok("+14155550100"));
        check("  +1 415 555 0100 ", Ok("+14155550100"));
        check("+1.415.555.0100", Ok("+14155550100"));
        check("tel:+1-415-555-0100", Ok("+14155550100"));
        check("+44 20 7946 0958", Ok("+442079460958"));
        check("+33 6 12 34 56 78", Ok("+33612345678"));
        check("+49 30 901820", Ok("+4930901820"));
    }

    #[test]
    fn refuses_numbers_longer_than_e164_allows() {
        // A fuzzing find: valid by libphonenumber's metadata, 16 digits.
        check(
            "+.49554.44344444446)",
            Err(
                "invalid phone number \"+.49554.44344444446)\": too long: an international number has at most 15 digits",
            ),
        );
    }

    #[test]
    fn refuses_invalid_numbers_saying_why() {
        check("", Err("invalid phone number \"\": empty"));
        check("   ", Err("invalid phone number \"   \": empty"));
        check(
            "12345",
            Err("invalid phone number \"12345\": must start with + and the country code"),
        );
        check(
            "4155550100",
            Err("invalid phone number \"4155550100\": must start with + and the country code"),
        );
        check("+1abc", Err("invalid phone number \"+1abc\": 'a' is not allowed in a phone number"));
        check(
            "+1234567890",
            Err("invalid phone number \"+1234567890\": too short for country code +1"),
        );
        check(
            "+1415555010000",
            Err("invalid phone number \"+1415555010000\": too long for country code +1"),
        );
        check("+999 1234567", Err("invalid phone number \"+999 1234567\": unknown country code"));
        check("+", Err("invalid phone number \"+\": not a phone number"));
    }

    #[test]
    fn stored_numbers_are_checked_for_form_only() {
        assert_eq!(PhoneNumber::from_e164("+14155550100").unwrap().as_str(), "+14155550100");
        for bad in ["14155550100", "+", "+0123", "+1 415", "+1234567890123456", ""] {
            assert!(PhoneNumber::from_e164(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn field_name_is_the_callers() {
        let error = PhoneNumber::parse_field("from", "nope").unwrap_err();
        assert_eq!(error.field(), "from");
    }
}
