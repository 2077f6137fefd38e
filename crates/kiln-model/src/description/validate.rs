//! What serde cannot check in a description: names, quantities, paths,
//! ports, uniqueness and the combinations of options.

use super::{Description, Image, IntOrPercent, RESERVED_CONFIG, enterprise};
use crate::error::{Error, InputError};
use crate::values::{
    Problem, abs_path, dns_label, duration, env_name, hostname, label_value, qualified_name,
    quantity,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
impl Description {
    /// Checks what serde cannot: names, quantities, paths, ports, uniqueness.
    /// The first problem found is returned as an error about `file`.
    pub fn validate(&self, file: &Path) -> Result<(), Error> {
        match self.problems().into_iter().next() {
            None => Ok(()),
            Some(Problem {
                pointer, message, ..
            }) => Err(InputError::new(file, message).at(pointer).into()),
        }
    }

    /// Every problem serde cannot see, in the order of the documented table.
    fn problems(&self) -> Vec<Problem> {
        let mut checks = self.field_problems();
        checks.extend(self.list_problems());
        checks.extend(self.probe_problems());
        checks.extend(self.config_problems());
        checks.extend([
            self.writable_problem(),
            self.secret_problem(),
            self.enterprise.as_ref().and_then(|e| e.problem()),
            self.adopt_problem(),
            self.by_name_problem(),
            self.mcp_host_problem(),
            self.env_clash(),
            self.optional_parts_problem(),
        ]);
        checks.into_iter().flatten().collect()
    }

    /// Strategies by name are for the open-source gateway, on a route.
    fn by_name_problem(&self) -> Option<Problem> {
        let route = self.route.as_ref()?;
        route.strategies_by_name.as_ref()?;
        self.enterprise.is_some().then(|| {
            Problem::new(
                "/route/strategiesByName",
                "the enterprise gateway takes named configs from its control plane: strategiesByName is for the open-source gateway",
            )
        })
    }

    /// A release to take over names kiln's Deployments as the chart named its own.
    fn adopt_problem(&self) -> Option<Problem> {
        let release = self.enterprise.as_ref()?.adopt_helm_release.as_deref()?;
        let at = "/enterprise/adoptHelmRelease";
        if let Some(p) = dns_label(at, release) {
            return Some(p);
        }
        let fullname = enterprise::Enterprise::chart_fullname(release);
        (self.name != fullname).then(|| {
            Problem::new(
                at,
                format!(
                    "Portkey's chart names the Deployment of release `{release}` `{fullname}`: set `name: {fullname}` so kiln's Deployments replace the chart's in place (with `{}` they would run beside them)",
                    self.name
                ),
            )
        })
    }

    /// The open-source gateway answers every `/v1/*` request without Portkey
    /// headers with 400, so a probe there never passes.
    fn health_path_problem(&self) -> Option<Problem> {
        let path = self.health_path.as_deref()?;
        (self.enterprise.is_none() && (path == "/v1" || path.starts_with("/v1/"))).then(|| {
            Problem::new(
                "/healthPath",
                format!(
                    "the open-source gateway has no health route: `GET {path}` answers 400 (\"Either x-portkey-config or x-portkey-provider header is required\"), so the pods would never be ready; leave healthPath out (probes call `/`, which answers 200)"
                ),
            )
        })
    }

    /// Names, paths, durations, quantities and numbers, one field each.
    fn field_problems(&self) -> Vec<Option<Problem>> {
        vec![
            dns_label("/name", &self.name),
            dns_label("/namespace/name", &self.namespace.name),
            image(&self.image),
            (self.replicas < 0).then(|| Problem::new("/replicas", "must be 0 or more")),
            (self.port == 0).then(|| Problem::new("/port", "must be 1-65535")),
            self.health_path
                .as_deref()
                .and_then(|p| abs_path("/healthPath", p)),
            self.health_path_problem(),
            abs_path("/monitoring/path", &self.monitoring.path),
            dns_label("/monitoring/namespace", &self.monitoring.namespace),
            abs_path("/strategies/mountPath", &self.strategies.mount_path),
            duration("/monitoring/interval", &self.monitoring.interval),
            duration("/secrets/refreshInterval", &self.secrets.refresh_interval),
            quantity("/resources/requests/cpu", &self.resources.requests.cpu),
            quantity(
                "/resources/requests/memory",
                &self.resources.requests.memory,
            ),
            quantity("/resources/limits/cpu", &self.resources.limits.cpu),
            quantity("/resources/limits/memory", &self.resources.limits.memory),
            (self.run_as.user <= 0)
                .then(|| Problem::new("/runAs/user", "must be a non-root UID (> 0)")),
            (self.run_as.group <= 0)
                .then(|| Problem::new("/runAs/group", "must be a non-root GID (> 0)")),
            self.route
                .as_ref()
                .and_then(|r| dns_label("/route/gateway/name", &r.gateway.name)),
            self.route
                .as_ref()
                .and_then(|r| dns_label("/route/gateway/namespace", &r.gateway.namespace)),
            dns_label("/secrets/store", &self.secrets.store),
            self.route
                .as_ref()
                .is_some_and(|r| r.hosts.is_empty())
                .then(|| Problem::new("/route/hosts", "needs at least one host")),
            (self.route.is_none() && self.enterprise.as_ref().is_some_and(|e| e.expose.is_none()))
                .then(|| {
                    Problem::new(
                        "/route",
                        "the enterprise gateway without `enterprise.expose` is reached through its HTTPRoute: give `route.hosts`",
                    )
                }),
            self.secrets.keys.is_empty().then(|| {
                Problem::new(
                    "/secrets/keys",
                    "needs at least one key (the gateway has no provider credentials otherwise)",
                )
            }),
        ]
    }

    /// Hosts, namespaces allowed in, ports allowed out.
    fn list_problems(&self) -> Vec<Option<Problem>> {
        let mut checks = Vec::new();
        for (i, host) in self.hosts().iter().enumerate() {
            checks.push(hostname(&format!("/route/hosts/{i}"), host));
        }
        for (i, ns) in self
            .network_policy
            .ingress_from_namespaces
            .iter()
            .enumerate()
        {
            checks.push(dns_label(
                &format!("/networkPolicy/ingressFromNamespaces/{i}"),
                ns,
            ));
        }
        for (i, port) in self.network_policy.egress_tcp_ports.iter().enumerate() {
            checks.push((*port == 0).then(|| {
                Problem::new(
                    format!("/networkPolicy/egressTcpPorts/{i}"),
                    "must be 1-65535",
                )
            }));
        }
        checks
    }

    fn probe_problems(&self) -> Vec<Option<Problem>> {
        let mut checks = Vec::new();
        for (name, probe) in [
            ("startup", &self.probes.startup(self.enterprise.is_some())),
            ("readiness", &self.probes.readiness),
            ("liveness", &self.probes.liveness),
        ] {
            for (field, v) in [
                ("periodSeconds", probe.period_seconds),
                ("failureThreshold", probe.failure_threshold),
                ("timeoutSeconds", probe.timeout_seconds),
            ] {
                checks.push(
                    (v < 1).then(|| {
                        Problem::new(format!("/probes/{name}/{field}"), "must be 1 or more")
                    }),
                );
            }
        }
        checks
    }

    /// Variable names, none of them one kiln sets itself.
    fn config_problems(&self) -> Vec<Option<Problem>> {
        let mut checks = Vec::new();
        for key in self.config.keys() {
            checks.push(env_name(&format!("/config/{key}"), key));
            checks.push(RESERVED_CONFIG.contains(&key.as_str()).then(|| {
                Problem::new(format!("/config/{key}"), format!("`{key}` is set by kiln from the description; use the dedicated field instead"))
            }));
        }
        checks
    }

    /// MCP on a host of its own.
    fn mcp_host_problem(&self) -> Option<Problem> {
        let mcp_host = self
            .enterprise
            .as_ref()
            .and_then(|e| e.mcp.as_ref()?.host.as_ref());
        mcp_host.and_then(|h| {
            if self.hosts().contains(h) {
                Some(Problem::new(
                    "/enterprise/mcp/host",
                    format!("`{h}` is also in route.hosts: MCP needs a host name of its own"),
                ))
            } else {
                hostname("/enterprise/mcp/host", h)
            }
        })
    }

    fn writable_problem(&self) -> Option<Problem> {
        let mut paths = BTreeSet::new();
        let mut volumes = BTreeSet::new();
        for (i, dir) in self.writable.iter().enumerate() {
            let at = format!("/writable/{i}");
            if let Some(p) = abs_path(&format!("{at}/path"), &dir.path) {
                return Some(p);
            }
            if dir.path == "/" || dir.path == self.strategies.mount_path {
                return Some(Problem::new(
                    format!("{at}/path"),
                    format!("`{}` cannot be a writable directory", dir.path),
                ));
            }
            if let Some(p) = quantity(&format!("{at}/sizeLimit"), &dir.size_limit) {
                return Some(p);
            }
            if !paths.insert(dir.path.as_str()) || !volumes.insert(dir.volume_name()) {
                return Some(Problem::new(
                    format!("{at}/path"),
                    format!("`{}` is listed twice", dir.path),
                ));
            }
            for (j, env) in dir.env.iter().enumerate() {
                if let Some(p) = env_name(&format!("{at}/env/{j}"), env) {
                    return Some(p);
                }
            }
        }
        None
    }

    fn secret_problem(&self) -> Option<Problem> {
        let mut seen = BTreeSet::new();
        for (i, key) in self.secrets.keys.iter().enumerate() {
            if let Some(p) = env_name(&format!("/secrets/keys/{i}/env"), &key.env) {
                return Some(p);
            }
            if !seen.insert(key.env.as_str()) {
                return Some(Problem::new(
                    format!("/secrets/keys/{i}/env"),
                    format!("`{}` is listed twice", key.env),
                ));
            }
            if key.remote_key.trim().is_empty() {
                return Some(Problem::new(
                    format!("/secrets/keys/{i}/remoteKey"),
                    "must name the secret in the store",
                ));
            }
        }
        None
    }

    fn optional_parts_problem(&self) -> Option<Problem> {
        if let Some(pdb) = &self.pod_disruption_budget {
            let at = "/podDisruptionBudget";
            match (&pdb.min_available, &pdb.max_unavailable) {
                (Some(_), Some(_)) | (None, None) => {
                    return Some(Problem::new(
                        at,
                        "set exactly one of minAvailable and maxUnavailable",
                    ));
                }
                (Some(v), None) => return int_or_percent(&format!("{at}/minAvailable"), v),
                (None, Some(v)) => return int_or_percent(&format!("{at}/maxUnavailable"), v),
            }
        }
        if let Some(hpa) = &self.autoscaling {
            if hpa.min_replicas < 1 {
                return Some(Problem::new(
                    "/autoscaling/minReplicas",
                    "must be 1 or more",
                ));
            }
            if hpa.max_replicas < hpa.min_replicas {
                return Some(Problem::new(
                    "/autoscaling/maxReplicas",
                    format!("must be at least minReplicas ({})", hpa.min_replicas),
                ));
            }
            if !(1..=100).contains(&hpa.cpu_utilization) {
                return Some(Problem::new(
                    "/autoscaling/cpuUtilization",
                    "must be 1-100 (percent)",
                ));
            }
        }
        let mut keys = BTreeSet::new();
        for (i, spread) in self.topology_spread.iter().enumerate() {
            if spread.max_skew < 1 {
                return Some(Problem::new(
                    format!("/topologySpread/{i}/maxSkew"),
                    "must be 1 or more",
                ));
            }
            if let Some(p) = qualified_name(
                &format!("/topologySpread/{i}/topologyKey"),
                &spread.topology_key,
            ) {
                return Some(p);
            }
            if !keys.insert(spread.topology_key.as_str()) {
                return Some(Problem::new(
                    format!("/topologySpread/{i}/topologyKey"),
                    format!("`{}` is listed twice", spread.topology_key),
                ));
            }
        }
        if let Some(class) = &self.priority_class_name
            && let Some(p) = hostname("/priorityClassName", class)
        {
            return Some(p);
        }
        for (key, value) in &self.labels {
            if let Some(p) = qualified_name(&format!("/labels/{key}"), key) {
                return Some(p);
            }
            if let Some(p) = label_value(&format!("/labels/{key}"), value) {
                return Some(p);
            }
        }
        for key in self.annotations.keys() {
            if let Some(p) = qualified_name(&format!("/annotations/{key}"), key) {
                return Some(p);
            }
        }
        None
    }

    /// A variable may be set by one source only: writable dirs, secrets or the ConfigMap.
    fn env_clash(&self) -> Option<Problem> {
        let mut seen = BTreeMap::new();
        let writable = self.writable.iter().enumerate().flat_map(|(i, w)| {
            w.env
                .iter()
                .enumerate()
                .map(move |(j, e)| (e.as_str(), format!("/writable/{i}/env/{j}")))
        });
        let secrets = self
            .secrets
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.env.as_str(), format!("/secrets/keys/{i}/env")));
        let config = self
            .config
            .keys()
            .map(|k| (k.as_str(), format!("/config/{k}")));
        let enterprise: Vec<(&str, String)> = self
            .enterprise
            .iter()
            .flat_map(|e| e.variables(&self.name))
            .map(|v| (v.name, v.at))
            .collect();
        for (name, at) in writable.chain(secrets).chain(config).chain(enterprise) {
            if let Some(first) = seen.insert(name, at.clone()) {
                return Some(Problem::new(
                    at,
                    format!("`{name}` is already set at {first}"),
                ));
            }
        }
        None
    }
}

fn image(image: &Image) -> Option<Problem> {
    let repo_ok = !image.repository.is_empty()
        && image.repository.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/' | ':')
        })
        && !image.repository.starts_with(['/', '.', '-'])
        && !image.repository.ends_with('/');
    if !repo_ok {
        return Some(Problem::new(
            "/image/repository",
            format!(
                "`{}` is not an image repository (lower-case, e.g. portkeyai/gateway)",
                image.repository
            ),
        ));
    }
    // The tag doubles as the app.kubernetes.io/version label value.
    let tag_ok = !image.tag.is_empty()
        && image.tag.len() <= 63
        && image.tag.starts_with(|c: char| c.is_ascii_alphanumeric())
        && image.tag.ends_with(|c: char| c.is_ascii_alphanumeric())
        && image
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !tag_ok {
        return Some(Problem::new(
            "/image/tag",
            format!(
                "`{}` is not usable as a tag and version label: at most 63 letters, digits, '.', '_', '-', starting and ending with a letter or digit",
                image.tag
            ),
        ));
    }
    if image.tag == "latest" {
        return Some(Problem::new(
            "/image/tag",
            "`latest` is not a version: pin a release tag such as 1.12.1",
        ));
    }
    if let Some(d) = &image.digest {
        let ok = d.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64 && h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        });
        if !ok {
            return Some(Problem::new(
                "/image/digest",
                format!("`{d}` is not a digest: expected sha256: and 64 lower-case hex digits"),
            ));
        }
    }
    None
}

fn int_or_percent(at: &str, v: &IntOrPercent) -> Option<Problem> {
    let ok = match v {
        IntOrPercent::Int(n) => *n >= 0,
        IntOrPercent::Percent(p) => p
            .strip_suffix('%')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| n <= 100),
    };
    (!ok).then(|| {
        Problem::new(
            at,
            "expected a count (0 or more) or a percentage such as \"50%\"",
        )
    })
}
