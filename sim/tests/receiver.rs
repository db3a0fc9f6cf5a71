//! The callback receiver over real HTTP: scripted replies, hanging, redirects and waiting for arrivals.

use std::time::Duration;

use reqwest::Client;
use reqwest::redirect::Policy;
use sim::{CallbackReceiver, Reply};

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

#[tokio::test]
async fn scripted_replies_come_first_then_the_default() {
    let receiver = CallbackReceiver::new();
    receiver.spawn().await.expect("spawn");
    receiver.script(vec![
        Reply::Status(503),
        Reply::StatusWithHeaders(429, vec![("Retry-After".into(), "2".into())]),
        Reply::Redirect(307, "http://127.0.0.1:1/elsewhere".into()),
    ]);
    let http = client();
    let url = receiver.url("/hooks/acme?tenant=1");
    let mut answers = Vec::new();
    for n in 0..5 {
        let response = http
            .post(&url)
            .header("Elements-Webhook-Id", format!("id-{n}"))
            .body(format!("{{\"n\":{n}}}"))
            .send()
            .await
            .expect("post");
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        answers.push((response.status().as_u16(), retry_after, location));
    }
    assert_eq!(answers[0], (503, None, None));
    assert_eq!(answers[1], (429, Some("2".into()), None));
    assert_eq!(
        answers[2],
        (307, None, Some("http://127.0.0.1:1/elsewhere".into()))
    );
    assert_eq!(answers[3], (200, None, None));

    receiver.set_default(Reply::Status(410));
    let gone = http.post(&url).body("{}").send().await.expect("post");
    assert_eq!(gone.status(), 410);

    let received = receiver.received();
    assert_eq!(received.len(), 6);
    assert_eq!(received[0].path, "/hooks/acme?tenant=1");
    assert_eq!(received[4].header("elements-webhook-id"), Some("id-4"));
    assert_eq!(received[4].json().expect("json")["n"], 4);
    assert!(received.windows(2).all(|pair| pair[0].at <= pair[1].at));
}

#[tokio::test]
async fn a_hanging_reply_is_recorded_but_never_answered() {
    let receiver = CallbackReceiver::new();
    receiver.spawn().await.expect("spawn");
    receiver.script(vec![Reply::Hang]);
    let http = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let error = http
        .post(receiver.url("/slow"))
        .body("x")
        .send()
        .await
        .expect_err("should time out");
    assert!(error.is_timeout());
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        http.post(receiver.url("/slow"))
            .body("y")
            .send()
            .await
            .expect("answered")
            .status(),
        200
    );
}

#[tokio::test]
async fn wait_for_returns_on_arrival_or_timeout() {
    let receiver = CallbackReceiver::new();
    receiver.spawn().await.expect("spawn");
    let early = receiver.wait_for(1, Duration::from_millis(50)).await;
    assert!(early.is_empty());

    let url = receiver.url("/late");
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let http = client();
        for _ in 0..2 {
            let _ = http.post(&url).body("{}").send().await;
        }
    });
    let arrived = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(arrived.len(), 2);
}

#[tokio::test]
async fn only_posts_are_accepted() {
    let receiver = CallbackReceiver::new();
    receiver.spawn().await.expect("spawn");
    let response = client()
        .get(receiver.url("/anything"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 405);
    assert!(receiver.received().is_empty());
}
