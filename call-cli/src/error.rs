//! What `calls` reports when a command is refused, and its exit code.

use std::{fmt, process::ExitCode};

use call_core::{Error, Refusal, ValidationError, ports::StoreError};
use call_db::OpenError;

/// A refused command: one line for stderr, and whose fault it was.
#[derive(Debug)]
pub(crate) struct CliError {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The command line is wrong: a value that is not valid (exit 2).
    Usage,
    /// The command was understood but could not be carried out (exit 1).
    Failure,
}

impl CliError {
    /// The command line is wrong.
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError { kind: Kind::Usage, message: message.into() }
    }

    /// The command could not be carried out.
    pub(crate) fn failure(message: impl Into<String>) -> CliError {
        CliError { kind: Kind::Failure, message: message.into() }
    }

    /// The same error, its message rewritten by `f`.
    pub(crate) fn map_message(self, f: impl FnOnce(String) -> String) -> CliError {
        CliError { kind: self.kind, message: f(self.message) }
    }

    /// 2 for usage errors, 1 for failures, as clap and most Unix tools do.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Usage => ExitCode::from(2),
            Kind::Failure => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ValidationError> for CliError {
    /// A bad value is a usage error (exit 2); a refusal of its own kind
    /// (`do_not_call`) is not about the command line: it fails (exit 1).
    fn from(error: ValidationError) -> CliError {
        if error.refusal() == Refusal::Invalid {
            CliError::usage(describe(&error))
        } else {
            CliError::failure(describe(&error))
        }
    }
}

/// A validation error as one line: `invalid media: unknown value "fax"…`.
/// A phone number's message already says what it is, and stands alone:
/// `invalid phone number "12345": must start with + and the country code`;
/// so does a refusal that is not about a bad value (`… is on the
/// do-not-call list …`).
pub(crate) fn describe(error: &ValidationError) -> String {
    if error.message().starts_with("invalid ") || error.refusal() != Refusal::Invalid {
        error.message().to_owned()
    } else {
        error.to_string()
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> CliError {
        match error {
            Error::Validation(e) => e.into(),
            Error::Batch { index, error } => {
                let message = format!("call {} of the batch: {}", index + 1, describe(&error));
                if error.refusal() == Refusal::Invalid {
                    CliError::usage(message)
                } else {
                    CliError::failure(message)
                }
            }
            Error::NotFound(_)
            | Error::SeriesNotFound(_)
            | Error::AlertNotFound(_)
            | Error::InvalidTransition(_)
            | Error::Contended(_) => CliError::failure(error.to_string()),
            Error::Store(
                e @ (StoreError::DuplicateCall(_)
                | StoreError::DuplicateQueue(_)
                | StoreError::DuplicateEvent(_)
                | StoreError::NotFound(_)),
            ) => CliError::failure(e.to_string()),
            other => CliError::failure(format!("the database failed: {other}")),
        }
    }
}

impl From<OpenError> for CliError {
    fn from(error: OpenError) -> CliError {
        CliError::failure(format!("cannot open the database: {error}"))
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> CliError {
        CliError::failure(error.to_string())
    }
}
