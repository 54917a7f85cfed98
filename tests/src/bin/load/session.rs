//! What both modes set up: the provisioned hotel, the gateway process, the inbox every socket
//! reports to, the sockets and the guests' conversations.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use lobbybee::department::Department;
use tokio::sync::{mpsc, watch};

use crate::Options;
use crate::clients::{self, Arrival, Inbox, Tag, Webhooks};
use crate::stack::{self, Gateway, Provisioned};

/// A frames channel per socket.
pub type Writers = Vec<mpsc::UnboundedSender<String>>;

/// A running session.
pub struct Session {
    /// The gateway process.
    pub gateway: Gateway,
    /// The hotel, staff and guests.
    pub provisioned: Provisioned,
    /// Where sockets report.
    pub inbox: Inbox,
    /// What they reported.
    pub arrivals: mpsc::UnboundedReceiver<Arrival>,
    /// The webhooks.
    pub webhooks: Webhooks,
    stop: watch::Sender<bool>,
}

impl Session {
    /// Provisions `staff` sockets' staff over `departments` and `guests` guests on a tenant of
    /// this process, then starts the gateway on it.
    pub async fn start(
        options: &Options,
        staff: usize,
        departments: &[Department],
        guests: usize,
    ) -> Result<Session, String> {
        let tenant = format!("load-{}", std::process::id());
        let provisioned = stack::provision(&options.template, &tenant, staff, departments, guests).await?;
        let gateway = Gateway::start(&options.gateway, &options.template, &tenant, options)?;
        let (sender, arrivals) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let inbox = Inbox { arrivals: sender, count: Arc::new(AtomicU64::new(0)), stop: stopped, tag: Tag::new() };
        let webhooks = Webhooks::new(&gateway.http, &provisioned.phone_number_id, options.timeout);
        Ok(Session { gateway, provisioned, inbox, arrivals, webhooks, stop })
    }

    /// Opens the staff sockets `from..to` all at once; their channels and how long it took.
    pub async fn connect_staff(&self, from: usize, to: usize) -> Result<(Writers, Duration), String> {
        let urls = (from..to).map(|i| (i, format!("{}/?token={}", self.gateway.ws, self.provisioned.staff[i].token)));
        self.connect_all(urls.collect()).await
    }

    /// Opens one socket per guest all at once (socket `staff + g` for guest `g`).
    pub async fn connect_guests(&self) -> Result<(Writers, Duration), String> {
        let base = self.provisioned.staff.len();
        let urls = self.provisioned.guests.iter().enumerate().map(|(g, guest)| {
            let number = guest.number.replace('+', "%2B");
            (base + g, format!("{}/?whatsapp_number={number}&guest_token={}", self.gateway.ws, guest.guest_token))
        });
        self.connect_all(urls.collect()).await
    }

    async fn connect_all(&self, urls: Vec<(usize, String)>) -> Result<(Writers, Duration), String> {
        let started = Instant::now();
        let connects = urls.iter().map(|(index, url)| clients::connect(url, *index, self.inbox.clone()));
        let writers = futures::future::try_join_all(connects).await?;
        Ok((writers, started.elapsed()))
    }

    /// Each guest writes once to its department (untagged): the conversation ids, by guest.
    pub async fn open_conversations(&self) -> Result<Vec<u64>, String> {
        let opens = self.provisioned.guests.iter().map(|guest| async {
            let (mut status, mut body) = (429, String::new());
            // All at once: past the webhook's concurrency some are throttled, and sent again.
            let mut backoff = crate::schedule::FIRST_BACKOFF;
            for _ in 0..20 {
                (status, body) = self.webhooks.simple(&guest.number, guest.department.as_str(), "hello").await?;
                if status != 429 {
                    break;
                }
                tokio::time::sleep(backoff.mul_f64(fastrand::f64())).await;
                backoff = (backoff * 2).min(crate::schedule::MAX_BACKOFF);
            }
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            match answer["conversation_id"].as_u64() {
                Some(id) if status == 201 => Ok(id),
                _ => Err(format!("opening a conversation answered {status}: {body}")),
            }
        });
        futures::future::try_join_all(opens).await
    }

    /// Stops the sockets' readers and returns everything they reported, in order.
    pub async fn collect(self) -> (Vec<Arrival>, Gateway) {
        self.stop.send_replace(true);
        let Session { gateway, inbox, mut arrivals, .. } = self;
        drop(inbox);
        let mut all = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Ok(Some(arrival)) = tokio::time::timeout_at(deadline, arrivals.recv()).await {
            all.push(arrival);
        }
        (all, gateway)
    }
}
