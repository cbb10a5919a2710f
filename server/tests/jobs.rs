//! `POST /jobs`, the demo's finite job, over real HTTP: off without `--demo-jobs`; its topic carries 0 to 100 % in
//! steps of 5, then `event: end`, replayed in full from `?lastEventId=0`; at most 8 run at once (429 with
//! `Retry-After`).

mod common;

use common::{client, ids, json_body, EventStream, TestServer};
use sse_live_demo_wire::{JobProgress, JobStarted};

#[tokio::test]
async fn jobs_are_off_without_the_flag() {
    let server = TestServer::start(&[]).await;
    let response = client().post(server.url("/jobs")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(response).await["error"], "not found");
}

#[tokio::test]
async fn a_job_counts_to_100_and_ends_with_an_end_event() {
    let server = TestServer::start(&["--demo-jobs", "--job-step", "10ms"]).await;
    let response = client().post(server.url("/jobs")).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let job: JobStarted = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(job.topic, format!("jobs/{}", job.id));

    // Opened after the job started: the whole history comes first.
    let mut stream = EventStream::open(&server.url(&format!("/events/{}?lastEventId=0", job.topic)), &[]).await;
    assert_eq!(stream.status, 200);
    let events = stream.events(22).await;
    let percents: Vec<u8> = events[..21]
        .iter()
        .map(|event| {
            assert_eq!(event.event_type, "message");
            serde_json::from_str::<JobProgress>(&event.data).unwrap().percent
        })
        .collect();
    assert_eq!(percents, (0..=100).step_by(5).collect::<Vec<u8>>());
    assert_eq!(ids(&events), (1..=22).collect::<Vec<_>>(), "contiguous ids, the end included");
    assert_eq!((events[21].event_type.as_str(), events[21].data.as_str()), ("end", "done"));
}

#[tokio::test]
async fn at_most_eight_jobs_run_at_once() {
    let server = TestServer::start(&["--demo-jobs", "--job-step", "1s"]).await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        let response = client().post(server.url("/jobs")).send().await.unwrap();
        assert_eq!(response.status(), 201);
        ids.push(json_body(response).await["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids, (1..=8).map(|id| id.to_string()).collect::<Vec<_>>());
    let response = client().post(server.url("/jobs")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "20", "a whole job's time");
    let error = json_body(response).await["error"].as_str().unwrap().to_owned();
    assert_eq!(error, "8 jobs are running already; try again in a few seconds");
}
