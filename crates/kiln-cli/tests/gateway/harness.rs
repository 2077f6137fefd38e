//! The real gateway as a process, a mock provider for its targets, and the
//! client side: requests with `x-portkey-config`, and kubelet-style probes.

use kiln::model::js;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The installed `@portkey-ai/gateway` package: what the image holds in `/app`.
pub fn package_dir() -> PathBuf {
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is missing: these tests run the real Portkey gateway; install Node.js 20 or later with npm (Debian: `apt install nodejs npm`)"
        );
    }
    let dir = kiln_tests::repo_root().join("tests/gateway/node_modules/@portkey-ai/gateway");
    assert!(
        dir.join("build/start-server.js").is_file(),
        "{} is missing: run the tests with `make test`, which installs the gateway pinned in tests/gateway/package-lock.json (npm ci)",
        dir.display()
    );
    dir
}

/// The bundle the gateway runs, for tests that compare kiln's facts with its code.
pub fn bundle() -> String {
    std::fs::read_to_string(package_dir().join("build/start-server.js")).expect("bundle")
}

/// A port nothing listens on (the OS's choice; never the gateway's default).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Whether something accepts connections on `port`.
pub fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
}

/// A started program and its children (one process group), killed when dropped.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `argv` in `cwd` with exactly `env` and the machine's `PATH` (to
    /// find node and npm), output to `log`.
    pub fn start(argv: &[String], cwd: &Path, env: &BTreeMap<String, String>, log: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).expect("log file");
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"));
        Process {
            child,
            log: log.to_path_buf(),
        }
    }

    /// What it printed so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log when the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the gateway exited ({status}):\n{}", self.log());
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // npm starts `sh -c node …`: the whole group goes, and is waited for.
        let group = format!("-{}", self.child.id());
        let signal = |s: &str| {
            Command::new("kill")
                .args([s, "--", &group])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        signal("-KILL");
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while signal("-0") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The gateway started as its image starts it (`npm run start:node`, in the
/// package directory, `NODE_ENV=production`) on `port`, ready for requests.
pub struct Gateway {
    /// Where it listens.
    pub port: u16,
    process: Process,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let argv: Vec<String> = kiln::model::portkey::IMAGE_ENTRYPOINT
            .iter()
            .map(|s| s.to_string())
            .chain(kiln::model::portkey::args_for_port(port).expect("not the default port"))
            .collect();
        let env = BTreeMap::from([
            ("NODE_ENV".to_string(), "production".to_string()),
            ("HOME".to_string(), dir.path().display().to_string()),
        ]);
        let mut process = Process::start(&argv, &package_dir(), &env, &dir.path().join("log"));
        let client = Client::new(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.get(port, "/").map(|r| r.status) != Some(200) {
            process.assert_running();
            assert!(
                Instant::now() < deadline,
                "the gateway did not answer on port {port}:\n{}",
                process.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Gateway {
            port,
            process,
            _dir: dir,
        }
    }

    /// Panics with the gateway's log when it has died.
    pub fn assert_running(&mut self) {
        self.process.assert_running();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// An HTTP client that reports every status (none is an error) and follows no redirect.
pub struct Client(ureq::Agent);

impl Client {
    pub fn new(timeout: Duration) -> Self {
        Client(
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent("kube-probe/1.33")
                .build()
                .into(),
        )
    }

    /// `GET http://127.0.0.1:port{path}`; `None` when nothing answers.
    pub fn get(&self, port: u16, path: &str) -> Option<Reply> {
        let response = self
            .0
            .get(&format!("http://127.0.0.1:{port}{path}"))
            .call()
            .ok()?;
        Some(reply(response))
    }

    /// A chat completion through the gateway on `port`, the way the docs
    /// tells clients to choose a strategy: its config in `x-portkey-config`,
    /// metadata (if any) in `x-portkey-metadata`, both as JSON text.
    pub fn chat(
        &self,
        port: u16,
        config: &Value,
        metadata: Option<&str>,
        params: &js::Object,
    ) -> Reply {
        // A repeated key keeps its last value in JSON.parse: params may replace the messages.
        let mut body = r#"{"messages":[{"role":"user","content":"hello"}]"#.to_string();
        for (k, v) in params {
            body.push_str(&format!(",{}:{}", quoted(k), stringify(v)));
        }
        body.push('}');
        let mut request = self
            .0
            .post(&format!("http://127.0.0.1:{port}/v1/chat/completions"))
            .header("content-type", "application/json")
            .header("x-portkey-config", &stringify(&config.into()));
        if let Some(m) = metadata {
            request = request.header("x-portkey-metadata", m);
        }
        let response = request
            .send(body)
            .unwrap_or_else(|e| panic!("the gateway on port {port} did not answer: {e}"));
        reply(response)
    }
}

/// A JSON object as the gateway reads it.
pub fn object(v: &Value) -> js::Object {
    match js::Value::from(v) {
        js::Value::Object(o) => o,
        other => panic!("not an object: {other:?}"),
    }
}

/// JSON text that `JSON.parse` reads back as `v`, in ASCII (a header's bytes
/// beyond ASCII are read as Latin-1): every other code unit as `\uXXXX`, an
/// infinite number as `1e999`.
pub fn stringify(v: &js::Value) -> String {
    match v {
        js::Value::Null => "null".into(),
        js::Value::Bool(b) => b.to_string(),
        js::Value::Number(n) if n.is_infinite() => if *n > 0.0 { "1e999" } else { "-1e999" }.into(),
        js::Value::Number(n) if *n == 0.0 && n.is_sign_negative() => "-0".into(),
        js::Value::Number(n) => js::number_to_string(*n),
        js::Value::String(s) => quoted(s),
        js::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(stringify).collect();
            format!("[{}]", items.join(","))
        }
        js::Value::Object(o) => {
            let pairs: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}:{}", quoted(k), stringify(v)))
                .collect();
            format!("{{{}}}", pairs.join(","))
        }
    }
}

fn quoted(s: &js::JsString) -> String {
    let mut out = String::from('"');
    for &unit in s.units() {
        match char::from_u32(u32::from(unit)) {
            Some(c @ ' '..='~') if c != '"' && c != '\\' => out.push(c),
            _ => out.push_str(&format!("\\u{unit:04x}")),
        }
    }
    out.push('"');
    out
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Reply { status, body }
}

/// Runs a kubelet probe once against a pod on 127.0.0.1 whose named ports
/// are `ports`: `httpGet` succeeds on 200–399, `tcpSocket` on a connection.
pub fn probe(probe: &Value, ports: &BTreeMap<String, u16>) -> Result<(), String> {
    let timeout = Duration::from_secs(probe["timeoutSeconds"].as_u64().unwrap_or(1));
    let port_of = |p: &Value| match p {
        Value::String(name) => ports.get(name).copied(),
        other => other.as_u64().and_then(|n| u16::try_from(n).ok()),
    };
    if let Some(get) = probe.get("httpGet") {
        let port = port_of(&get["port"]).ok_or(format!("no port {}", get["port"]))?;
        if get.get("httpHeaders").is_some() || get["scheme"].as_str().unwrap_or("HTTP") != "HTTP" {
            return Err(format!("not modelled here: {get}"));
        }
        let path = get["path"].as_str().unwrap_or("/");
        match Client::new(timeout).get(port, path) {
            Some(r) if (200..400).contains(&r.status) => Ok(()),
            Some(r) => Err(format!(
                "GET {path} on port {port}: {} {}",
                r.status, r.body
            )),
            None => Err(format!("GET {path} on port {port}: no answer")),
        }
    } else if let Some(tcp) = probe.get("tcpSocket") {
        let port = port_of(&tcp["port"]).ok_or(format!("no port {}", tcp["port"]))?;
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)
            .map(drop)
            .map_err(|e| format!("tcp {port}: {e}"))
    } else {
        Err(format!("not an httpGet or tcpSocket probe: {probe}"))
    }
}

/// A mock OpenAI-compatible (and Anthropic-compatible) provider. Each target
/// gets its own base URL, `http://127.0.0.1:PORT/<id>`; the mock records the
/// id of every request and answers it with the status set for that id (200
/// unless told otherwise).
pub struct Mock {
    port: u16,
    server: Arc<tiny_http::Server>,
    state: Arc<Mutex<MockState>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct MockState {
    hits: Vec<String>,
    statuses: BTreeMap<String, u16>,
    /// The provider keys each id received.
    keys: BTreeMap<String, BTreeSet<String>>,
}

impl Mock {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("mock server"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let state = Arc::new(Mutex::new(MockState::default()));
        let thread = {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    answer(request, &state);
                }
            })
        };
        Mock {
            port,
            server,
            state,
            thread: Some(thread),
        }
    }

    /// The base URL that target `id` is given as `custom_host`.
    pub fn host(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}/{id}", self.port)
    }

    /// Target `id` answers `status` from now on.
    pub fn answer_with(&self, id: &str, status: u16) {
        let mut state = self.state.lock().expect("mock state");
        state.statuses.insert(id.to_string(), status);
    }

    /// The provider keys each id received since the last call (the
    /// `Authorization` bearer token, `x-api-key` or `api-key`, as providers take them).
    pub fn take_keys(&self) -> BTreeMap<String, BTreeSet<String>> {
        std::mem::take(&mut self.state.lock().expect("mock state").keys)
    }

    /// The ids requested since the last call, in order; statuses reset to 200.
    pub fn take_hits(&self) -> Vec<String> {
        let mut state = self.state.lock().expect("mock state");
        state.statuses.clear();
        std::mem::take(&mut state.hits)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut request: tiny_http::Request, state: &Mutex<MockState>) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let url = request.url().to_string();
    let id = url
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let key = request.headers().iter().find_map(|h| {
        let value = h.value.as_str();
        match h.field.as_str().as_str().to_ascii_lowercase().as_str() {
            "authorization" => value.strip_prefix("Bearer ").map(String::from),
            "x-api-key" | "api-key" => Some(value.to_string()),
            _ => None,
        }
    });
    let status = {
        let mut state = state.lock().expect("mock state");
        state.hits.push(id.clone());
        if let Some(key) = key {
            state.keys.entry(id.clone()).or_default().insert(key);
        }
        state.statuses.get(&id).copied().unwrap_or(200)
    };
    // Targets named `slow…` answer after a pause (for timeouts to win races).
    if id.starts_with("slow") {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let path = url.split('?').next().unwrap_or("");
    let reply = if !(200..300).contains(&status) {
        json!({"error": {"message": "mock failure", "type": "server_error"}})
    } else if path.ends_with("/messages") {
        json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": id,
               "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 1, "output_tokens": 1}})
    } else {
        json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": id,
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
    };
    let header = tiny_http::Header::from_bytes("content-type", "application/json").expect("header");
    let _ = request.respond(
        tiny_http::Response::from_string(reply.to_string())
            .with_status_code(status)
            .with_header(header),
    );
}

/// Points every target of `config` that names a provider at the mock, as
/// `<mock>/<id>` where the root's id is `t` and target `i` of a node `n`
/// is `n.i`.
pub fn point_at(config: &mut Value, mock: &Mock, id: &str) {
    let Some(node) = config.as_object_mut() else {
        return;
    };
    if node.contains_key("provider") {
        node.insert("custom_host".into(), Value::from(mock.host(id)));
    }
    if let Some(Value::Array(targets)) = node.get_mut("targets") {
        for (i, t) in targets.iter_mut().enumerate() {
            point_at(t, mock, &format!("{id}.{i}"));
        }
    }
}

/// What a client does with the header `kiln strategies --header` prints
/// (e.g. with envsubst): fills each `${NAME}` with its own key for NAME.
pub fn fill(header: &str, key: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed reference") + start;
        let name = &rest[start + 2..end];
        out.push_str(&key(name));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}
