//! The OpenAPI document, generated from the handlers and the DTOs.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
};

use crate::routes::{calls, events, ops, phones, queues, ws};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callwork",
        description = "Schedule calls, follow them to their end, ingest call-centre lifecycle events, and read any number's history. Every /api route needs the API key in X-API-Key (or Authorization: Bearer) when the server has one. Errors are {\"error\": {\"code\", \"message\", \"field\"?}}."
    ),
    paths(
        calls::schedule, calls::list, calls::get, calls::cancel, calls::reschedule, calls::events,
        events::ingest, events::provider_webhook,
        phones::history,
        queues::list, queues::add, queues::get, queues::remove,
        ops::stats, ops::healthz, ops::metrics, ops::openapi_json,
        ws::subscribe,
    ),
    components(schemas(
        call_wire::CallJson, call_wire::EventJson, call_wire::HistoryJson, call_wire::QueueJson,
        call_wire::StatsJson, call_wire::QueueStatsJson, call_wire::AgentStatsJson, call_wire::EventRequest,
        calls::CallPage, calls::EventList, events::Ingested, events::BatchIngested, events::BatchItem,
        phones::HistoryPage, queues::QueueList, crate::live::LiveMessage, crate::live::AlertJson,
        crate::error::ErrorBody, crate::error::ErrorDetail,
    )),
    modifiers(&Security),
    tags(
        (name = "calls", description = "Scheduled and placed calls"),
        (name = "events", description = "Lifecycle events and provider callbacks"),
        (name = "history", description = "A number's call history"),
        (name = "queues", description = "The queue registry"),
        (name = "stats", description = "Queue and agent metrics"),
        (name = "live", description = "Live updates"),
        (name = "operations", description = "Liveness, metrics, this document"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// The OpenAPI document of every route, schema and error.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
