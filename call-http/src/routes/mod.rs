//! The routes, by area.

pub(crate) mod alerts;
pub(crate) mod calls;
pub(crate) mod dispatch;
pub(crate) mod dnc;
pub(crate) mod events;
pub(crate) mod ops;
pub(crate) mod pages;
pub(crate) mod phones;
pub(crate) mod queues;
pub(crate) mod series;
pub(crate) mod ws;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

/// Everything under `/api`, all behind the API key.
pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/calls", post(calls::schedule).get(calls::list))
        .route("/calls/{id}", get(calls::get).patch(calls::reschedule))
        .route("/calls/{id}/cancel", post(calls::cancel))
        .route("/calls/{id}/events", get(calls::events))
        .route("/calls/{id}/attempts", get(calls::attempts))
        .route("/events", post(events::ingest))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}/ack", post(alerts::acknowledge))
        .route("/phones/{phone}/history", get(phones::history))
        .route("/queues", get(queues::list).post(queues::add))
        .route("/queues/{id}", get(queues::get).delete(queues::remove))
        .route("/series", get(series::list))
        .route("/series/{id}", get(series::get))
        .route("/series/{id}/cancel", post(series::cancel))
        .route("/dnc", get(dnc::list).post(dnc::add))
        .route("/dnc/{phone}", get(dnc::get).delete(dnc::remove))
        .route("/dispatch", get(dispatch::state))
        .route("/dispatch/pause", post(dispatch::pause))
        .route("/dispatch/resume", post(dispatch::resume))
        .route("/stats", get(ops::stats))
        .route("/stats/activity", get(ops::activity))
        .route("/provider/webhook", post(events::provider_webhook))
        .route("/ws", get(ws::subscribe))
}

/// The dashboard and the history page, for browsers.
pub(crate) fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/assets/{file}", get(pages::asset))
        .route("/calls/{phone}", get(pages::phone_history))
}

/// Liveness, metrics and the API's description: no key needed.
pub(crate) fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi_json))
}
