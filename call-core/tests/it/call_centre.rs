//! Lifecycle events from an event source, and the business rules they trigger.

use call_core::{
    AgentId, CallId, CallStatus, Direction, EndReason, Error, EventId, EventSource, EventType,
    Flag, IncomingEvent, Initiated, Lifecycle, Media, QueueId, ports::Notification,
    rules::AlertKind,
};

use crate::helpers::{TestApp, id, phone, spawn_app};

fn agent(name: &str) -> Lifecycle {
    Lifecycle::Routed { agent_id: AgentId::parse(name).unwrap(), routing_time: Some(1.5) }
}

async fn event_types(app: &TestApp, call: &str) -> Vec<EventType> {
    app.engine.events(&id(call)).await.unwrap().iter().map(|e| e.event_type()).collect()
}

async fn with_queue(app: &TestApp, name: &str) -> QueueId {
    let queue = QueueId::parse(name).unwrap();
    app.engine.add_queue(queue.clone()).await.unwrap();
    queue
}

#[tokio::test(start_paused = true)]
async fn a_call_through_its_whole_life() {
    let app = spawn_app();
    let queue = with_queue(&app, "medical_spanish").await;
    let initiated = Lifecycle::Initiated(Initiated {
        media: Some(Media::Video),
        queue_id: Some(queue.clone()),
        from: Some(phone(1)),
        customer_name: Some("Rosa".into()),
        ..Initiated::default()
    });
    app.ingest("123", initiated, Some(app.at(0.0))).await;
    let call = app.engine.get(&id("123")).await.unwrap();
    assert_eq!(
        call.direction(),
        Direction::Inbound,
        "a call_initiated for an unknown id creates it"
    );
    assert_eq!(
        (call.status(), call.media(), call.queue_id()),
        (CallStatus::Initiated, Media::Video, Some(&queue))
    );
    assert_eq!(call.deadline_at(), Some(app.at(30.0)), "the SLA timer is running");

    app.ingest("123", agent("ann"), Some(app.at(4.0))).await;
    app.ingest("123", Lifecycle::Answered { wait_time: None }, Some(app.at(10.0))).await;
    app.ingest("123", Lifecycle::Hold { hold_duration: None }, Some(app.at(20.0))).await;
    app.ingest("123", Lifecycle::Resumed, Some(app.at(32.0))).await;
    app.ingest("123", Lifecycle::Ended { end_reason: None, duration: None }, Some(app.at(70.0)))
        .await;

    let call = app.engine.get(&id("123")).await.unwrap();
    assert_eq!(call.status(), CallStatus::Completed);
    assert_eq!(call.agent_id().map(AgentId::as_str), Some("ann"));
    assert_eq!(call.wait_seconds(), Some(10.0), "derived from the timestamps");
    assert_eq!(call.hold_seconds(), Some(12.0));
    assert_eq!(call.duration_seconds(), Some(60.0));
    assert_eq!(call.end_reason(), Some(EndReason::Completed));
    assert_eq!(call.deadline_at(), None);
    assert!(call.flags().is_empty(), "{}", call.flags());
    assert_eq!(
        event_types(&app, "123").await,
        [
            EventType::CallInitiated,
            EventType::CallRouted,
            EventType::CallAnswered,
            EventType::CallHold,
            EventType::CallResumed,
            EventType::CallEnded,
            EventType::SurveyRequested,
        ]
    );
    let surveys = app
        .notifier
        .notifications()
        .into_iter()
        .filter(|n| matches!(n, Notification::SurveyRequested { .. }))
        .count();
    assert_eq!(surveys, 1, "every answered call gets a survey request");
    // The routed event kept the source's fields.
    let events = app.engine.events(&id("123")).await.unwrap();
    assert_eq!(events[1].metadata()["agent_id"], "ann");
    assert_eq!(events[1].metadata()["routing_time"], 1.5);
    assert_eq!(events[1].source(), EventSource::Api);
}

#[tokio::test(start_paused = true)]
async fn rules_fire_on_the_events_that_cross_their_thresholds() {
    let app = spawn_app();
    // Answered after 45 s: the SLA was breached and the wait was long.
    app.ingest("slow", Lifecycle::Initiated(Initiated::default()), Some(app.at(0.0))).await;
    app.ingest("slow", Lifecycle::Answered { wait_time: None }, Some(app.at(45.0))).await;
    // Held for 61 s by its own report, then a 5 s call: short.
    app.ingest("slow", Lifecycle::Hold { hold_duration: Some(61.0) }, Some(app.at(50.0))).await;
    app.ingest("slow", Lifecycle::Resumed, Some(app.at(50.0))).await;
    app.ingest(
        "slow",
        Lifecycle::Ended { end_reason: None, duration: Some(5.0) },
        Some(app.at(51.0)),
    )
    .await;

    let call = app.engine.get(&id("slow")).await.unwrap();
    let flags: Vec<Flag> = call.flags().iter().collect();
    assert_eq!(flags, [Flag::ShortCall, Flag::SlaBreached, Flag::LongWait, Flag::HoldExceeded]);
    let alerts: Vec<AlertKind> = app.notifier.alerts().iter().map(|a| a.kind).collect();
    assert_eq!(alerts, [AlertKind::SlaBreach, AlertKind::LongWait, AlertKind::HoldExceeded]);
    let events = app.engine.events(&id("slow")).await.unwrap();
    let raised: Vec<&str> = events
        .iter()
        .filter(|e| e.event_type() == EventType::AlertRaised)
        .map(|e| e.metadata()["alert"].as_str().unwrap())
        .collect();
    assert_eq!(raised, ["sla_breach", "long_wait", "hold_exceeded"]);
    let alert_sources: Vec<EventSource> = events
        .iter()
        .filter(|e| e.event_type() == EventType::AlertRaised)
        .map(|e| e.source())
        .collect();
    assert_eq!(alert_sources, [EventSource::Rules; 3]);

    // On the right side of each threshold: nothing.
    app.ingest("quick", Lifecycle::Initiated(Initiated::default()), Some(app.at(0.0))).await;
    app.ingest("quick", Lifecycle::Answered { wait_time: Some(30.0) }, Some(app.at(29.0))).await;
    app.ingest("quick", Lifecycle::Hold { hold_duration: Some(59.0) }, Some(app.at(40.0))).await;
    app.ingest("quick", Lifecycle::Resumed, Some(app.at(40.0))).await;
    app.ingest(
        "quick",
        Lifecycle::Ended { end_reason: None, duration: Some(10.0) },
        Some(app.at(50.0)),
    )
    .await;
    let call = app.engine.get(&id("quick")).await.unwrap();
    assert!(call.flags().is_empty(), "{}", call.flags());
    assert_eq!(app.notifier.alerts().len(), 3, "no new alert");
}

#[tokio::test(start_paused = true)]
async fn an_event_that_does_not_fit_is_refused_and_writes_nothing() {
    let app = spawn_app();
    app.ingest("c", Lifecycle::Initiated(Initiated::default()), None).await;
    let before = app.engine.get(&id("c")).await.unwrap();
    let error = app.try_ingest("c", Lifecycle::Resumed, None).await.unwrap_err();
    assert_eq!(error.to_string(), "event call_resumed is not allowed in status initiated");
    assert!(matches!(error, Error::InvalidTransition(_)));
    assert_eq!(app.engine.get(&id("c")).await.unwrap(), before, "nothing written");
    assert_eq!(event_types(&app, "c").await, [EventType::CallInitiated]);

    // A second call_initiated for a live call does not fit either.
    assert!(matches!(
        app.try_ingest("c", Lifecycle::Initiated(Initiated::default()), None).await,
        Err(Error::InvalidTransition(_))
    ));
    // Nothing leaves an ended call.
    app.ingest(
        "c",
        Lifecycle::Ended { end_reason: Some(EndReason::Abandoned), duration: None },
        None,
    )
    .await;
    assert_eq!(app.engine.get(&id("c")).await.unwrap().status(), CallStatus::Abandoned);
    assert!(app.try_ingest("c", Lifecycle::Answered { wait_time: None }, None).await.is_err());
    // An unknown call is not found unless the event creates it.
    let error = app.try_ingest("ghost", Lifecycle::Ringing, None).await.unwrap_err();
    assert!(matches!(error, Error::NotFound(ref call) if call.as_str() == "ghost"), "{error}");
    // Bad values are refused before anything is looked at.
    let error =
        app.try_ingest("c", Lifecycle::Answered { wait_time: Some(-1.0) }, None).await.unwrap_err();
    assert_eq!(error.validation().map(|v| v.field()), Some("wait_time"));
}

#[tokio::test(start_paused = true)]
async fn unknown_queues_are_refused() {
    let app = spawn_app();
    let initiated = Lifecycle::Initiated(Initiated {
        queue_id: Some(QueueId::parse("nope").unwrap()),
        ..Initiated::default()
    });
    let error = app.try_ingest("c", initiated, None).await.unwrap_err();
    let validation = error.validation().expect("a validation error");
    assert_eq!((validation.field(), validation.message()), ("queue_id", "unknown queue \"nope\""));
    assert!(matches!(app.engine.get(&id("c")).await, Err(Error::NotFound(_))), "nothing created");
}

#[tokio::test(start_paused = true)]
async fn a_repeated_event_id_records_once_and_answers_as_the_first() {
    let app = spawn_app();
    let event = |lifecycle: Lifecycle, event_id: &str, call: &str| IncomingEvent {
        call_id: CallId::parse(call).unwrap(),
        event_id: Some(EventId::parse(event_id).unwrap()),
        timestamp: None,
        source: EventSource::Api,
        lifecycle,
    };
    let first =
        app.engine.ingest(event(Lifecycle::Initiated(Initiated::default()), "e-1", "c")).await;
    let first = first.unwrap();
    assert!(!first.duplicate);
    let again =
        app.engine.ingest(event(Lifecycle::Initiated(Initiated::default()), "e-1", "c")).await;
    let again = again.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.call, first.call);

    let ringing = app.engine.ingest(event(Lifecycle::Ringing, "e-2", "c")).await.unwrap();
    let ringing_again = app.engine.ingest(event(Lifecycle::Ringing, "e-2", "c")).await.unwrap();
    assert!(ringing_again.duplicate, "a second delivery is not a second transition");
    assert_eq!(ringing_again.call, ringing.call);
    assert_eq!(event_types(&app, "c").await, [EventType::CallInitiated, EventType::CallRinging]);
    let recorded = app.engine.events(&id("c")).await.unwrap();
    assert_eq!(recorded[1].id().as_str(), "e-2", "the source's id is the event's id");

    // The same id for another call is a mistake worth saying so.
    let error =
        app.engine.ingest(event(Lifecycle::Initiated(Initiated::default()), "e-1", "d")).await;
    assert_eq!(error.unwrap_err().validation().map(|v| v.field()), Some("event_id"));
}

#[tokio::test(start_paused = true)]
async fn stats_are_derived_from_the_calls() {
    let app = spawn_app();
    let queue = with_queue(&app, "sales").await;
    let start = |name: &str| {
        let queue = queue.clone();
        let app = &app;
        let name = name.to_owned();
        async move {
            let initiated = Initiated { queue_id: Some(queue), ..Initiated::default() };
            app.ingest(&name, Lifecycle::Initiated(initiated), Some(app.at(0.0))).await;
        }
    };
    start("a").await;
    app.ingest("a", agent("ann"), Some(app.at(1.0))).await;
    app.ingest("a", Lifecycle::Answered { wait_time: None }, Some(app.at(10.0))).await;
    app.ingest("a", Lifecycle::Ended { end_reason: None, duration: None }, Some(app.at(70.0)))
        .await;
    start("b").await;
    app.ingest("b", agent("ann"), Some(app.at(40.0))).await;
    app.ingest("b", Lifecycle::Answered { wait_time: Some(50.0) }, Some(app.at(50.0))).await;
    start("c").await;
    app.ingest("c", Lifecycle::Ended { end_reason: None, duration: None }, Some(app.at(5.0))).await;
    start("d").await;
    app.ingest("d", agent("bob"), Some(app.at(1.0))).await;
    app.ingest("d", Lifecycle::Retransfer { agent_id: None, reason: None }, Some(app.at(2.0)))
        .await;

    let stats = app.engine.stats().await.unwrap();
    let sales = &stats.queues[0];
    assert_eq!((sales.offered, sales.answered, sales.abandoned), (4, 2, 1));
    assert_eq!(sales.service_level, Some(0.25), "1 of 4 answered within 30 s");
    assert_eq!(sales.average_speed_of_answer, Some(30.0));
    let agents: Vec<(&str, u64, Option<f64>, u64)> = stats
        .agents
        .iter()
        .map(|a| (a.agent_id.as_str(), a.answered, a.average_wait_seconds, a.reroutes))
        .collect();
    assert_eq!(agents, [("ann", 2, Some(30.0), 0), ("bob", 0, None, 1)]);
}

/// A rule's alert is a record a supervisor can list, acknowledge (in the
/// call's audit log) and see close when its cause ends.
#[tokio::test(start_paused = true)]
async fn alerts_are_kept_acknowledged_and_closed_by_their_cause() {
    use call_core::{EventId, alerts::AlertQuery, rules::AlertKind};
    let app = spawn_app();
    app.ingest("late", Lifecycle::Initiated(Initiated::default()), Some(app.at(0.0))).await;
    app.ingest("late", Lifecycle::Answered { wait_time: Some(45.0) }, None).await;
    let open = AlertQuery { open: true, ..AlertQuery::default() };
    let alerts = app.engine.alerts(&open).await.unwrap().items;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        (alert.kind, alert.call_id.as_str(), alert.seconds),
        (AlertKind::LongWait, "late", 45.0)
    );

    let acked = app.engine.acknowledge_alert(&alert.id, " sam ").await.unwrap();
    assert_eq!(acked.acknowledged_by.as_deref(), Some("sam"));
    assert!(acked.is_open(), "acknowledged, its call still live");
    let again = app.engine.acknowledge_alert(&alert.id, "kim").await.unwrap();
    assert_eq!(again.acknowledged_by.as_deref(), Some("sam"), "the first acknowledgement stands");
    let events = app.engine.events(&alert.call_id).await.unwrap();
    let logged: Vec<_> =
        events.iter().filter(|e| e.event_type() == EventType::AlertAcknowledged).collect();
    assert_eq!(logged.len(), 1, "recorded once in the audit log");
    assert_eq!(logged[0].metadata()["by"], "sam");
    assert_eq!(logged[0].metadata()["alert_id"], alert.id.as_str());

    let blank = app.engine.acknowledge_alert(&alert.id, " ").await.unwrap_err();
    assert_eq!(blank.validation().map(|v| v.field()), Some("by"));
    let unknown = EventId::parse("nope").unwrap();
    assert!(matches!(
        app.engine.acknowledge_alert(&unknown, "sam").await,
        Err(call_core::Error::AlertNotFound(_))
    ));

    app.ingest("late", Lifecycle::Ended { end_reason: None, duration: None }, None).await;
    assert!(app.engine.alerts(&open).await.unwrap().items.is_empty(), "closed by the call's end");
    let closed = app.engine.alert(&alert.id).await.unwrap();
    assert_eq!(closed.closed_by, Some(EventType::CallEnded));
}
