//! Any bytes as the flat event JSON of `POST /api/events` and `calls event
//! --data`: reading and checking them never panics, and an event that is
//! accepted has valid values and a writable audit-log form.
#![no_main]

use call_core::{EventSource, Region};
use call_wire::EventRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<EventRequest>(data) else { return };
    // Half the inputs read numbers without a country code as US ones.
    let region = (data.len() % 2 == 0).then(|| Region::parse("region", "US").expect("a region"));
    if let Ok(event) = request.into_incoming(EventSource::Api, region) {
        assert!(event.lifecycle.validate().is_ok());
        let metadata = event.lifecycle.to_metadata();
        serde_json::to_string(&metadata).expect("audit-log metadata serializes");
    }
});
