//! `mock-call-api`: the Mock Call API stand-in as a server.
//!
//! ```text
//! mock-call-api [--host 127.0.0.1] [--port 5000] [--time-scale 1] [--latency-ms 0]
//!               [--error-rate 0] [--hang-rate 0] [--lost-answer-rate 0] [--late-answer-rate 0]
//!               [--late-answer-ms 30000] [--busy 0] [--no-answer 0] [--failed 0] [--callback-url URL]
//! ```
//!
//! With no options it answers exactly as the Mock Call API does.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use call_provider_http::mock::{MockCallApi, MockOptions};

const USAGE: &str = "usage: mock-call-api [--host 127.0.0.1] [--port 5000] [--time-scale F] [--latency-ms N] \
                     [--error-rate F] [--hang-rate F] [--lost-answer-rate F] [--late-answer-rate F] \
                     [--late-answer-ms N] [--busy F] [--no-answer F] [--failed F] [--callback-url URL]";

fn parse_args(args: &[String]) -> Result<(SocketAddr, MockOptions), String> {
    let mut host = "127.0.0.1".to_owned();
    let mut port: u16 = 5000;
    let mut options = MockOptions::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |what: &str| {
            value.parse::<f64>().map_err(|_| format!("{what}: {value:?} is not a number"))
        };
        let share = |what: &str| -> Result<f64, String> {
            let n = number(what)?;
            if (0.0..=1.0).contains(&n) {
                Ok(n)
            } else {
                Err(format!("{what}: {n} is not between 0 and 1"))
            }
        };
        let millis = |what: &str| {
            value
                .parse()
                .map(Duration::from_millis)
                .map_err(|_| format!("{what}: {value:?} is not a whole number"))
        };
        match flag.as_str() {
            "--host" => host = value.clone(),
            "--port" => {
                port =
                    value.parse().map_err(|_| format!("--port: {value:?} is not a port number"))?
            }
            "--time-scale" => {
                options.time_scale = number("--time-scale")?;
                if options.time_scale <= 0.0 {
                    return Err("--time-scale must be more than 0".into());
                }
            }
            "--latency-ms" => options.latency = millis("--latency-ms")?,
            "--late-answer-ms" => options.late_answer_by = millis("--late-answer-ms")?,
            "--lost-answer-rate" => options.lost_answer_rate = share("--lost-answer-rate")?,
            "--late-answer-rate" => options.late_answer_rate = share("--late-answer-rate")?,
            "--error-rate" => options.error_rate = share("--error-rate")?,
            "--hang-rate" => options.hang_rate = share("--hang-rate")?,
            "--busy" => options.busy = share("--busy")?,
            "--no-answer" => options.no_answer = share("--no-answer")?,
            "--failed" => options.failed = share("--failed")?,
            "--callback-url" => options.callback_url = Some(value.clone()),
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    let addr =
        format!("{host}:{port}").parse().map_err(|_| format!("{host}:{port} is not an address"))?;
    Ok((addr, options))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, options) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let api = match MockCallApi::bind(addr, options).await {
        Ok(api) => api,
        Err(error) => {
            eprintln!("mock-call-api: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("mock call API listening on {}", api.url());
    api.serve_until_signal().await;
    ExitCode::SUCCESS
}
