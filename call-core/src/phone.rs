//! Phone numbers, validated and normalised to E.164.

use std::fmt;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, ValidationError as Possible};

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
        PhoneNumber::parse_in(field, input, None)
    }

    /// [`parse_field`](Self::parse_field), reading a number written without
    /// a country code (`4155550100`, `(415) 555-0100`, `415.555.0100`) as a
    /// number of `region` when one is given, as people type them there.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `field` saying why the value is not a valid number.
    pub fn parse_in(
        field: &'static str,
        input: &str,
        region: Option<Region>,
    ) -> Result<PhoneNumber, ValidationError> {
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
        let region = match (international, region) {
            (true, _) => None,
            (false, Some(region)) => Some(region.id),
            (false, None) => {
                return Err(invalid("must start with + and the country code".into()));
            }
        };
        // The digits as written, when they are a valid number, are the
        // number. libphonenumber would strip a "national prefix" even from
        // them (it reads +370 8 0012345 as +370 0012345, dropping a digit of
        // a valid Lithuanian number), so its reading is only the fallback,
        // for numbers written with a trunk prefix such as +44 (0)20 ….
        if let Some(digits) = written_digits(trimmed)
            && is_valid_e164_digits(&digits)
        {
            return Ok(PhoneNumber(format!("+{digits}")));
        }
        let number = PHONE_NUMBER_UTIL
            .parse(trimmed, region)
            .map_err(|e| invalid(parse_error_reason(&e).into()))?;
        if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
            return Err(invalid(length_reason(&number)));
        }
        let e164 = PHONE_NUMBER_UTIL.format(&number, PhoneNumberFormat::E164).to_string();
        // libphonenumber's metadata passes some numbers longer than E.164
        // allows (found by fuzzing: +49 5544 434444 4446); the store would
        // then refuse to read them back.
        if e164.len() > MAX_E164_DIGITS + 1 {
            return Err(invalid(format!(
                "too long: an international number has at most {MAX_E164_DIGITS} digits"
            )));
        }
        // What is kept must read back as itself (found by fuzzing:
        // +370 0 80123456 parsed to +37080123456, which libphonenumber
        // then reads as a shorter number).
        if !is_valid_e164_digits(&e164[1..]) {
            return Err(invalid(length_reason(&number)));
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

    /// The time zones this number may ring in, from libphonenumber's data
    /// for its longest listed prefix: one zone for most numbers, several
    /// where the prefix does not tell them apart (a mobile number of a
    /// country of several zones lists all of the country's). Empty when
    /// nothing is known of its country code.
    pub fn time_zones(&self) -> &'static [chrono_tz::Tz] {
        crate::window::zones_for_digits(&self.0[1..])
    }
}

/// The country whose numbers may be written without a country code, as
/// people there type them: `US` reads `(415) 555-0100` as `+14155550100`.
/// An ISO 3166-1 alpha-2 code that libphonenumber has a numbering plan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    id: rlibphonenumber::Region,
    /// The code, upper case, for [`Region::as_str`].
    code: [u8; 2],
}

impl Region {
    /// Reads a region code (`US`, `gb`), naming `field` in any error.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `field` when it is not a code with a numbering plan.
    pub fn parse(field: &'static str, text: &str) -> Result<Region, ValidationError> {
        let code = text.trim().to_ascii_uppercase();
        let letters: Option<[u8; 2]> = code.as_bytes().try_into().ok();
        letters
            .and_then(|letters| {
                // Two ASCII letters, or no region: `from_code` checks.
                let id = rlibphonenumber::Region::from_code(&code).ok()?;
                PHONE_NUMBER_UTIL.get_country_code_for_region(id)?;
                Some(Region { id, code: letters })
            })
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    format!(
                        "{text:?} is not a region: use a two-letter country code such as US or GB"
                    ),
                )
            })
    }

    /// The code, upper case (`US`).
    pub fn as_str(&self) -> &str {
        // Two ASCII capitals: `parse` took only codes `from_code` read.
        std::str::from_utf8(&self.code).unwrap_or_default()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The digits of a number written in international form with no more than
/// separators between them (`+1 (415) 555-0100`, `tel:+44-20-7946-0958`),
/// without the `+`; `None` for anything else.
fn written_digits(text: &str) -> Option<String> {
    let rest = text.strip_prefix("tel:").unwrap_or(text).strip_prefix('+')?;
    if !rest.chars().all(|c| c.is_ascii_digit() || " -.()/".contains(c)) {
        return None;
    }
    Some(rest.chars().filter(char::is_ascii_digit).collect())
}

/// Whether `digits` (an E.164 number without its `+`) is a valid number
/// exactly as written: a known country code, then a national number that
/// the metadata of the code's region matches, leading zeros and all.
///
/// This is libphonenumber's own validity check (`is_valid_number`) on the
/// number as written, built as libphonenumber keeps it (the national
/// number's leading zeros as `italian_leading_zero` and their count); its
/// parsing would strip national prefixes first (see `parse_in`).
fn is_valid_e164_digits(digits: &str) -> bool {
    let well_formed = digits.len() <= MAX_E164_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !well_formed {
        return false;
    }
    // Country codes are prefix-free: the first of 1 to 3 digits that is one is the code.
    let Some((code, national)) = (1..=3.min(digits.len())).find_map(|len| {
        let code: i32 = digits[..len].parse().ok()?;
        PHONE_NUMBER_UTIL.get_region_for_country_code(code)?;
        Some((code, &digits[len..]))
    }) else {
        return false;
    };
    let Ok(national_number) = national.parse::<u64>() else { return false };
    let zeros = national.bytes().take_while(|b| *b == b'0').count();
    let number = rlibphonenumber::PhoneNumber {
        country_code: code,
        national_number,
        italian_leading_zero: (zeros > 0).then_some(true),
        number_of_leading_zeros: (zeros > 1).then(|| i32::try_from(zeros).unwrap_or(i32::MAX)),
        ..Default::default()
    };
    PHONE_NUMBER_UTIL.is_valid_number(&number)
}

fn parse_error_reason(error: &rlibphonenumber::ParseError) -> &'static str {
    use rlibphonenumber::ParseError as E;
    match error {
        E::NotANumber(_) => "not a phone number",
        E::InvalidCountryCode => "unknown country code",
        E::TooShortAfterIdd | E::TooShortNsn => "too short",
        E::TooLongNsn => "too long",
    }
}

/// Why a parsed number is not valid: too short, too long, or no such number
/// range in its country.
fn length_reason(number: &rlibphonenumber::PhoneNumber) -> String {
    let code = number.country_code;
    match PHONE_NUMBER_UTIL.is_possible_number_with_reason(number) {
        Err(Possible::TooShort) => format!("too short for country code +{code}"),
        Err(Possible::TooLong) => format!("too long for country code +{code}"),
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
    use super::{PhoneNumber, Region};

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
    fn keeps_the_digits_of_a_valid_number_as_written() {
        // Fuzzing finds: libphonenumber strips a national prefix (8 or 0 in
        // Lithuania) even from an international number, so it read this
        // valid toll-free number as +370 123456 and refused it.
        check("+37080012345", Ok("+37080012345"));
        check("+370 800 12345", Ok("+37080012345"));
        check("tel:+370-800-12345", Ok("+37080012345"));
        check("+370 0 80012345", Ok("+37080012345"));
        check("tel:+3700801234/56", Ok("+37080123456"));
        // A trunk prefix written after the country code is still dropped.
        check("+44 (0)20 7946 0958", Ok("+442079460958"));
        // Italy keeps its leading zero.
        check("+39 06 1234 5678", Ok("+390612345678"));
        // No country code starts with 0, so "+054…" is not a number (the
        // store would refuse to read it back as written; libphonenumber
        // refuses it too).
        check(
            "+054.1164952493",
            Err("invalid phone number \"+054.1164952493\": unknown country code"),
        );
    }

    #[test]
    fn every_accepted_number_reads_back_as_itself() {
        for input in [
            "+37080012345",
            "+370 0 80012345",
            "+44 (0)20 7946 0958",
            "+7 495 123-45-67",
            "+800 1234 5678",
        ] {
            let number = PhoneNumber::parse(input).unwrap();
            assert_eq!(PhoneNumber::parse(number.as_str()), Ok(number.clone()), "{input:?}");
        }
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
    fn numbers_without_a_country_code_are_read_in_the_default_region() {
        let us = Some(Region::parse("region", "us").unwrap());
        for typed in
            ["4155550100", "(415) 555-0100", "415.555.0100", "415-555-0100", "1 415 555 0100"]
        {
            let number = PhoneNumber::parse_in("phone_number", typed, us).unwrap();
            assert_eq!(number.as_str(), "+14155550100", "{typed:?}");
        }
        // A number with its country code is read as written, whatever the region.
        let uk = PhoneNumber::parse_in("to", "+44 20 7946 0958", us).unwrap();
        assert_eq!(uk.as_str(), "+442079460958");
        let gb = Some(Region::parse("region", "GB").unwrap());
        let london = PhoneNumber::parse_in("to", "020 7946 0958", gb).unwrap();
        assert_eq!(london.as_str(), "+442079460958", "the trunk 0 is dropped");
        // Without a region the error stays; with one, a bad number is still refused.
        let error = PhoneNumber::parse_in("to", "4155550100", None).unwrap_err();
        assert!(error.message().contains("must start with + and the country code"), "{error}");
        let error = PhoneNumber::parse_in("to", "555-0100", us).unwrap_err();
        assert_eq!(error.field(), "to");
    }

    #[test]
    fn regions_are_country_codes_with_a_numbering_plan() {
        assert_eq!(Region::parse("r", " us ").unwrap().as_str(), "US");
        for bad in ["", "USA", "ZZ", "u", "1"] {
            let error = Region::parse("default_region", bad).unwrap_err();
            assert_eq!(error.field(), "default_region", "{bad:?}");
        }
    }

    #[test]
    fn field_name_is_the_callers() {
        let error = PhoneNumber::parse_field("from", "nope").unwrap_err();
        assert_eq!(error.field(), "from");
    }
}
