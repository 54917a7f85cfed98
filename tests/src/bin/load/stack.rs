//! The stack under load: the gateway as a process of its own (`lobbybee-local up --count-calls`,
//! so that its CPU and memory are its own), its tables provisioned with one hotel, its staff and
//! its guests through the store, and the counters it serves.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use futures::stream::{self, StreamExt};
use lobbybee::auth::{guest_token, jwt};
use lobbybee::calls::Counts;
use lobbybee::department::Department;
use lobbybee::model::{Guest, GuestStatus, Hotel, Staff, Stay, StayStatus, UserType};
use lobbybee::store::{Directory, DynamoStore};
use lobbybee_local::env;

/// The gateway process, for the panic hook: this binary aborts on panic (release profile), so
/// no destructor would stop it.
static RUNNING: AtomicU32 = AtomicU32::new(0);

/// Makes a panic stop the gateway process before the generator aborts.
pub fn stop_gateway_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let pid = RUNNING.load(Ordering::SeqCst);
        if pid != 0 {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        previous(info);
    }));
}

/// A running gateway process; killed when dropped.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub http: String,
    /// `ws://127.0.0.1:PORT`.
    pub ws: String,
    /// Its process id.
    pub pid: u32,
    client: reqwest::Client,
}

impl Gateway {
    /// Starts `binary up --port 0 --tenant TENANT` (quiet logs, no metric lines; with
    /// `--count-calls` when the options count calls, and the guest webhook's concurrency when they
    /// set one) and waits for the address it prints.
    pub fn start(binary: &Path, template: &Path, tenant: &str, options: &crate::Options) -> Result<Gateway, String> {
        let mut command = Command::new(binary);
        command.args(["up", "--port", "0", "--tenant", tenant, "--template"]).arg(template);
        if options.count_calls {
            command.arg("--count-calls");
        }
        if let Some(limit) = options.webhook_concurrency {
            command.arg("--reserved-concurrency").arg(format!("guest-webhook={limit}"));
        }
        let mut child = command
            .env("RUST_LOG", "error")
            .env("LOBBYBEE_METRICS", "off")
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id();
        RUNNING.store(pid, Ordering::SeqCst);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut http = None;
        for line in lines.by_ref() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(rest) = line.trim_start().strip_prefix("REST API") {
                http = rest.trim().strip_suffix("/api/chat/").map(str::to_owned);
                break;
            }
        }
        // The rest of what it prints goes nowhere (a full pipe would stop it).
        std::thread::spawn(move || lines.for_each(drop));
        let Some(http) = http else {
            let _ = child.kill();
            return Err("the gateway exited before printing its address".into());
        };
        let ws = http.replacen("http://", "ws://", 1);
        Ok(Gateway { child, http, ws, pid, client: lobbybee::app::https().build().unwrap_or_default() })
    }

    /// What the functions' AWS calls counted so far.
    pub async fn counts(&self) -> Counts {
        let answer = self.client.get(format!("{}/_local/calls", self.http)).send().await;
        match answer {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => Counts::default(),
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        RUNNING.store(0, Ordering::SeqCst);
    }
}

/// The gateway binary next to this one (`lobbybee-local`, built by the same cargo command).
pub fn sibling_gateway() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name("lobbybee-local")
}

/// A staff socket to open.
#[derive(Debug, Clone)]
pub struct StaffSocket {
    /// Access token of its own staff member.
    pub token: String,
    /// The one department it listens to.
    pub department: Department,
}

/// A guest with an active stay.
#[derive(Debug, Clone)]
pub struct LoadGuest {
    /// Canonical number.
    pub number: String,
    /// Guest socket token of the stay.
    pub guest_token: String,
    /// The department the guest writes to.
    pub department: Department,
}

/// One hotel, its staff (one member per socket) and its guests.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The hotel's WhatsApp phone number id (routes Meta webhooks).
    pub phone_number_id: String,
    /// Staff sockets, in order.
    pub staff: Vec<StaffSocket>,
    /// Guests, in order.
    pub guests: Vec<LoadGuest>,
}

/// The departments a run spreads over: the first `count` of Reception, Housekeeping, Room
/// Service, Café, Management.
pub fn departments(count: usize) -> Vec<Department> {
    Department::ALL.iter().copied().take(count.clamp(1, Department::ALL.len())).collect()
}

/// Creates the tenant's resources (as the gateway will find them) and provisions a hotel with
/// `staff` department staff spread over `departments` and `guests` checked-in guests, guest `g`
/// writing to department `g mod departments`.
pub async fn provision(
    template: &Path,
    tenant: &str,
    staff: usize,
    departments: &[Department],
    guests: usize,
) -> Result<Provisioned, String> {
    let sdk = lobbybee::app::sdk_defaults().load().await;
    let resources = lobbybee_local::bootstrap::bootstrap(&sdk, template, tenant).await.map_err(|e| e.to_string())?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), resources.table_name);
    let secret = |key: &str| env::lookup(key, &[]).unwrap_or_default();
    let (jwt_secret, guest_secret) = (secret("JWT_SECRET"), secret("GUEST_TOKEN_SECRET"));
    let run = std::process::id() as u64 % 100_000;
    let hotel_id = format!("load-hotel-{run}");
    let phone_number_id = format!("9{run:05}0000");
    let hotel = Hotel {
        id: hotel_id.clone(),
        name: "Load Hotel".into(),
        whatsapp_phone_number_id: Some(phone_number_id.clone()),
        departments: Department::ALL.to_vec(),
        timezone: "UTC".into(),
    };
    store.put_hotel(&hotel).await.map_err(|e| e.to_string())?;
    let store = &store;
    let staff: Vec<StaffSocket> = stream::iter(0..staff)
        .map(|i| {
            let department = departments[i % departments.len()];
            let member = Staff {
                user_id: format!("{run}{i:04}"),
                hotel_id: hotel_id.clone(),
                user_type: UserType::DepartmentStaff,
                departments: vec![department],
                first_name: format!("Staff{i}"),
                last_name: "Load".into(),
                username: format!("staff{i}"),
                is_active: true,
            };
            let jwt_secret = &jwt_secret;
            async move {
                store.put_staff(&member).await.map_err(|e| e.to_string())?;
                let token = jwt::issue_hs256(jwt_secret, &member.user_id, 4 * 3600).map_err(|e| e.to_string())?;
                Ok::<_, String>(StaffSocket { token, department })
            }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let guests: Vec<LoadGuest> = stream::iter(0..guests)
        .map(|g| {
            let id = (run * 10_000 + g as u64) + 1;
            let number = format!("+1555{:07}", id % 10_000_000);
            let guest = Guest {
                id,
                hotel_id: hotel_id.clone(),
                whatsapp_number: number.clone(),
                full_name: format!("Guest {g}"),
                email: String::new(),
                status: GuestStatus::CheckedIn,
                last_inbound_at: None,
            };
            let stay = Stay {
                id,
                hotel_id: hotel_id.clone(),
                guest_id: id,
                room_number: format!("{}", 100 + g),
                floor: Some(1),
                status: StayStatus::Active,
                check_in_date: None,
                check_out_date: None,
            };
            let guest_secret = &guest_secret;
            async move {
                store.put_guest(&guest).await.map_err(|e| e.to_string())?;
                store.put_stay(&stay).await.map_err(|e| e.to_string())?;
                let department = departments[g % departments.len()];
                Ok::<_, String>(LoadGuest {
                    number,
                    guest_token: guest_token::issue(guest_secret.as_bytes(), id, id),
                    department,
                })
            }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(Provisioned { phone_number_id, staff, guests })
}
