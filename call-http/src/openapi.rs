//! The OpenAPI document, generated from the handlers and the DTOs.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
};

use crate::routes::{alerts, calls, dispatch, dnc, events, ops, phones, queues, series, ws};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callwork",
        description = "Schedule calls, follow them to their end, ingest call-centre lifecycle events, and read any number's history. Every /api route needs the API key in X-API-Key (or Authorization: Bearer) when the server has one. Errors are {\"error\": {\"code\", \"message\", \"field\"?}}."
    ),
    paths(
        calls::schedule, calls::list, calls::get, calls::cancel, calls::reschedule, calls::events,
        calls::attempts,
        events::ingest, events::provider_webhook,
        alerts::list, alerts::acknowledge,
        phones::history,
        queues::list, queues::add, queues::get, queues::remove,
        series::list, series::get, series::cancel,
        dnc::list, dnc::add, dnc::get, dnc::remove,
        dispatch::state, dispatch::pause, dispatch::resume,
        ops::stats, ops::activity, ops::healthz, ops::metrics, ops::openapi_json,
        ws::subscribe,
    ),
    components(schemas(
        call_wire::CallJson, call_wire::EventJson, call_wire::HistoryJson, call_wire::QueueJson,
        call_wire::StatsJson, call_wire::QueueStatsJson, call_wire::ActivityJson, call_wire::MinuteJson,
        call_wire::RecurrenceJson, call_wire::CallingWindowJson, call_wire::RedialJson, call_wire::AttemptsJson, call_wire::SeriesJson, call_wire::SeriesPage,
        call_wire::DoNotCallJson, call_wire::DoNotCallPage, call_wire::DoNotCallRequest,
        call_wire::DispatchJson, call_wire::PauseJson, call_wire::PauseRequest, call_wire::AgentStatsJson, call_wire::EventRequest,
        call_wire::CallPage, call_wire::EventList, events::Ingested, events::BatchIngested, events::BatchItem,
        events::IngestBody, events::IngestAnswer,
        call_wire::HistoryPage, call_wire::QueueList, call_wire::LiveMessage,
        call_wire::AlertJson, call_wire::AlertsPage, call_wire::AcknowledgeRequest,
        crate::error::ErrorBody, crate::error::ErrorDetail, call_wire::ErrorCode,
    )),
    modifiers(&Security, &CommonErrors),
    tags(
        (name = "calls", description = "Scheduled and placed calls"),
        (name = "events", description = "Lifecycle events and provider callbacks"),
        (name = "history", description = "A number's call history"),
        (name = "alerts", description = "Alerts the rules raised, acknowledged and closed"),
        (name = "queues", description = "The queue registry"),
        (name = "series", description = "Recurring series of calls"),
        (name = "dnc", description = "The do-not-call list"),
        (name = "dispatch", description = "Pausing and resuming the placing of calls"),
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

/// The refusals any `/api` operation may answer, added to each in one
/// place so no route's document forgets one: every request may lack the
/// key (401), name an invalid id or parameter (422) or take too long
/// (503); one with a body may also not be JSON (400, 415) or be too large
/// (413).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            RefOr,
            content::Content,
            response::{Response, ResponseBuilder},
        };
        let error = |description: &str| -> RefOr<Response> {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody"))),
                )
                .build()
                .into()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/") || path == "/api/openapi.json" {
                continue;
            }
            let operations =
                [&mut item.get, &mut item.post, &mut item.patch, &mut item.delete, &mut item.put];
            for operation in operations.into_iter().flatten() {
                let mut common = vec![
                    ("401", "No API key, or a wrong one"),
                    ("422", "An invalid value, named in `field`"),
                    ("503", "The request took too long"),
                ];
                if operation.request_body.is_some() {
                    common.extend([
                        ("400", "The body is not valid JSON"),
                        ("413", "The body is larger than the limit"),
                        ("415", "The body is not declared as JSON"),
                    ]);
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

/// The OpenAPI document of every route, schema and error.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
