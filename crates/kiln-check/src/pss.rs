//! Pod Security Standards, `restricted` profile (which includes `baseline`),
//! every control of the published standard, on every pod template.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/>

use super::object::{ContainerView, Object, Pod};
use super::{Findings, pointer_join};
use k8s_openapi::api::core::v1::PodSecurityContext;
use kiln_model::rules::*;

/// Capabilities a restricted container may add.
const ADDABLE_CAPABILITIES: [&str; 1] = ["NET_BIND_SERVICE"];
/// Volume sources restricted allows.
const VOLUME_TYPES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
/// The "safe" sysctls of the baseline profile.
const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
/// SELinux types a container may run as.
const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];
const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

pub(super) fn check(o: &Object, pod: &Pod, out: &mut Findings) {
    let spec = &pod.spec;
    let psc = spec.security_context.as_ref();
    // Windows pods are exempt from the Linux-only restricted controls, as in the standard.
    let linux = spec.os.as_ref().is_none_or(|os| os.name != "windows");
    host_namespaces(o, pod, out);
    if let Some(psc) = psc {
        pod_security_context(o, pod, psc, linux, out);
    }
    apparmor_annotations(o, pod, out);
    volumes(o, pod, out);
    let pod_defaults = PodDefaults {
        non_root: psc.and_then(|p| p.run_as_non_root) == Some(true),
        seccomp: psc
            .and_then(|p| p.seccomp_profile.as_ref())
            .is_some_and(|p| matches!(p.type_.as_str(), "RuntimeDefault" | "Localhost")),
    };
    for c in pod.containers() {
        container(o, &c, &pod_defaults, out);
        if linux {
            linux_container(o, &c, &pod_defaults, out);
        }
    }
}

/// What the pod's security context settles for every container.
struct PodDefaults {
    non_root: bool,
    seccomp: bool,
}

fn host_namespaces(o: &Object, pod: &Pod, out: &mut Findings) {
    let spec = &pod.spec;
    let sp = pod.spec_pointer();
    for (field, on) in [
        ("hostNetwork", spec.host_network),
        ("hostPID", spec.host_pid),
        ("hostIPC", spec.host_ipc),
    ] {
        if on == Some(true) {
            out.push(
                &PSS_HOST_NAMESPACES,
                o,
                format!("{sp}/{field}"),
                format!("{field} is true"),
            );
        }
    }
}

fn pod_security_context(
    o: &Object,
    pod: &Pod,
    psc: &PodSecurityContext,
    linux: bool,
    out: &mut Findings,
) {
    let psc_at = format!("{}/securityContext", pod.spec_pointer());

    if psc.windows_options.as_ref().and_then(|w| w.host_process) == Some(true) {
        out.push(
            &PSS_HOST_PROCESS,
            o,
            format!("{psc_at}/windowsOptions/hostProcess"),
            "hostProcess is true",
        );
    }
    if let Some(p) = &psc.app_armor_profile {
        apparmor(o, &p.type_, &format!("{psc_at}/appArmorProfile/type"), out);
    }
    if let Some(se) = &psc.se_linux_options {
        selinux(o, se, &format!("{psc_at}/seLinuxOptions"), out);
    }
    if let Some(p) = &psc.seccomp_profile
        && (p.type_ == "Unconfined"
            || (linux && !matches!(p.type_.as_str(), "RuntimeDefault" | "Localhost")))
    {
        out.push(
            &PSS_SECCOMP,
            o,
            format!("{psc_at}/seccompProfile/type"),
            format!("seccomp profile `{}`", p.type_),
        );
    }
    for (i, s) in psc.sysctls.iter().flatten().enumerate() {
        if !SAFE_SYSCTLS.contains(&s.name.as_str()) {
            out.push(
                &PSS_SYSCTLS,
                o,
                format!("{psc_at}/sysctls/{i}/name"),
                format!("sysctl `{}` is not a safe sysctl", s.name),
            );
        }
    }
    if psc.run_as_non_root == Some(false) {
        out.push(
            &PSS_RUN_AS_NON_ROOT,
            o,
            format!("{psc_at}/runAsNonRoot"),
            "runAsNonRoot is false",
        );
    }
    if psc.run_as_user == Some(0) {
        out.push(
            &PSS_RUN_AS_USER,
            o,
            format!("{psc_at}/runAsUser"),
            "runAsUser is 0 (root)",
        );
    }
}

/// The legacy AppArmor annotations on the pod template.
fn apparmor_annotations(o: &Object, pod: &Pod, out: &mut Findings) {
    for (key, value) in &pod.annotations {
        if key.starts_with(APPARMOR_ANNOTATION)
            && value != "runtime/default"
            && !value.starts_with("localhost/")
        {
            out.push(
                &PSS_APPARMOR,
                o,
                pointer_join(&format!("{}/metadata/annotations", pod.pointer), key),
                format!("AppArmor profile `{value}`"),
            );
        }
    }
}

/// hostPath (baseline) and the restricted list of volume types.
fn volumes(o: &Object, pod: &Pod, out: &mut Findings) {
    let sp = pod.spec_pointer();
    let volumes = o.at(&format!("{sp}/volumes")).and_then(|v| v.as_array());
    for (i, volume) in volumes.into_iter().flatten().enumerate() {
        for source in volume
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| *k != "name")
        {
            let at = format!("{sp}/volumes/{i}/{source}");
            if source == "hostPath" {
                out.push(&PSS_HOST_PATH, o, at, "hostPath volume");
            } else if !VOLUME_TYPES.contains(&source.as_str()) {
                out.push(
                    &PSS_VOLUME_TYPES,
                    o,
                    at,
                    format!("volume type `{source}` is not allowed"),
                );
            }
        }
    }
}

/// The controls of every container, Linux or Windows.
fn container(o: &Object, c: &ContainerView, pod: &PodDefaults, out: &mut Findings) {
    let sc = c.security_context;
    let at = format!("{}/securityContext", c.pointer);
    let name = c.name;
    for (j, port) in c.ports.iter().enumerate() {
        if port.host_port.is_some_and(|p| p != 0) {
            out.push(
                &PSS_HOST_PORTS,
                o,
                format!("{}/ports/{j}/hostPort", c.pointer),
                format!(
                    "container `{name}` uses host port {}",
                    port.host_port.unwrap_or_default()
                ),
            );
        }
    }
    if sc
        .and_then(|s| s.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true)
    {
        out.push(
            &PSS_HOST_PROCESS,
            o,
            format!("{at}/windowsOptions/hostProcess"),
            format!("container `{name}` is a HostProcess container"),
        );
    }
    if sc.and_then(|s| s.privileged) == Some(true) {
        out.push(
            &PSS_PRIVILEGED,
            o,
            format!("{at}/privileged"),
            format!("container `{name}` is privileged"),
        );
    }
    if let Some(p) = sc.and_then(|s| s.app_armor_profile.as_ref()) {
        apparmor(o, &p.type_, &format!("{at}/appArmorProfile/type"), out);
    }
    if let Some(se) = sc.and_then(|s| s.se_linux_options.as_ref()) {
        selinux(o, se, &format!("{at}/seLinuxOptions"), out);
    }
    if let Some(mount) = sc
        .and_then(|s| s.proc_mount.as_deref())
        .filter(|m| *m != "Default")
    {
        out.push(
            &PSS_PROC_MOUNT,
            o,
            format!("{at}/procMount"),
            format!("container `{name}` uses procMount `{mount}`"),
        );
    }
    match sc.and_then(|s| s.run_as_non_root) {
        Some(false) => out.push(&PSS_RUN_AS_NON_ROOT, o, format!("{at}/runAsNonRoot"), format!("container `{name}` sets runAsNonRoot: false")),
        None if !pod.non_root => out.push(&PSS_RUN_AS_NON_ROOT, o, at.clone(), format!("container `{name}` may run as root: runAsNonRoot is set neither for the pod nor for the container")),
        _ => {}
    }
    if sc.and_then(|s| s.run_as_user) == Some(0) {
        out.push(
            &PSS_RUN_AS_USER,
            o,
            format!("{at}/runAsUser"),
            format!("container `{name}` runs as UID 0"),
        );
    }
}

/// The controls restricted adds for Linux containers.
fn linux_container(o: &Object, c: &ContainerView, pod: &PodDefaults, out: &mut Findings) {
    let sc = c.security_context;
    let at = format!("{}/securityContext", c.pointer);
    let name = c.name;
    match sc
        .and_then(|s| s.seccomp_profile.as_ref())
        .map(|p| p.type_.as_str())
    {
        Some("RuntimeDefault" | "Localhost") => {}
        None if pod.seccomp => {}
        Some(other) => out.push(
            &PSS_SECCOMP,
            o,
            format!("{at}/seccompProfile/type"),
            format!("container `{name}` uses seccomp profile `{other}`"),
        ),
        None => out.push(
            &PSS_SECCOMP,
            o,
            at.clone(),
            format!("container `{name}` has no seccomp profile (none is set for the pod either)"),
        ),
    }
    if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
        out.push(
            &PSS_PRIVILEGE_ESCALATION,
            o,
            format!("{at}/allowPrivilegeEscalation"),
            format!("container `{name}` does not set allowPrivilegeEscalation: false"),
        );
    }
    let caps = sc.and_then(|s| s.capabilities.as_ref());
    if !caps
        .and_then(|c| c.drop.as_ref())
        .is_some_and(|d| d.iter().any(|c| c == "ALL"))
    {
        out.push(
            &PSS_CAPABILITIES,
            o,
            format!("{at}/capabilities/drop"),
            format!("container `{name}` does not drop ALL capabilities"),
        );
    }
    for (j, cap) in caps
        .and_then(|c| c.add.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !ADDABLE_CAPABILITIES.contains(&cap.as_str()) {
            out.push(
                &PSS_CAPABILITIES,
                o,
                format!("{at}/capabilities/add/{j}"),
                format!("container `{name}` adds capability {cap}"),
            );
        }
    }
}

fn apparmor(o: &Object, kind: &str, at: &str, out: &mut Findings) {
    if !matches!(kind, "RuntimeDefault" | "Localhost") {
        out.push(
            &PSS_APPARMOR,
            o,
            at,
            format!("AppArmor profile type `{kind}`"),
        );
    }
}

fn selinux(
    o: &Object,
    se: &k8s_openapi::api::core::v1::SELinuxOptions,
    at: &str,
    out: &mut Findings,
) {
    if let Some(t) = se
        .type_
        .as_deref()
        .filter(|t| !t.is_empty() && !SELINUX_TYPES.contains(t))
    {
        out.push(
            &PSS_SELINUX,
            o,
            format!("{at}/type"),
            format!("SELinux type `{t}`"),
        );
    }
    for (field, value) in [("user", &se.user), ("role", &se.role)] {
        if value.as_deref().is_some_and(|v| !v.is_empty()) {
            out.push(
                &PSS_SELINUX,
                o,
                format!("{at}/{field}"),
                format!("custom SELinux {field}"),
            );
        }
    }
}
