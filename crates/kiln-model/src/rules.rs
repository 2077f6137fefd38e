//! The rules of `kiln check`: stable IDs, severities, and how to fix each.

use Severity::{Error, Note, Warning};
use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The object would be rejected, break, or is insecure: `kiln render`
    /// refuses it and `kiln check` exits 1.
    Error,
    /// Probably wrong, but kiln cannot be sure from the manifests alone.
    Warning,
    /// For information (e.g. a kind kiln has no schema for).
    Note,
}

impl Severity {
    /// `error`, `warning`, `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A rule: what it checks and how to fix what it finds.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable ID, e.g. `pss-privileged` (used in suppressions and SARIF).
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// One line: what must be true.
    pub summary: &'static str,
    /// How to fix a finding.
    pub help: &'static str,
}

macro_rules! rules {
    ($( $name:ident = $id:literal, $severity:ident, $summary:literal, $help:literal; )*) => {
        $( #[doc = $summary] pub static $name: Rule = Rule { id: $id, severity: $severity, summary: $summary, help: $help }; )*
        /// Every rule, in the order of docs/reference/rules.md (generated from this table).
        pub static RULES: &[&Rule] = &[ $( &$name, )* ];
    };
}

rules! {
    // Pod Security Standards, baseline controls (restricted includes them).
    PSS_HOST_PROCESS = "pss-host-process", Error,
        "Windows HostProcess containers are not allowed (PSS baseline)",
        "remove securityContext.windowsOptions.hostProcess or set it to false";
    PSS_HOST_NAMESPACES = "pss-host-namespaces", Error,
        "pods do not share the host's network, PID or IPC namespace (PSS baseline)",
        "remove hostNetwork, hostPID and hostIPC or set them to false";
    PSS_PRIVILEGED = "pss-privileged", Error,
        "containers are not privileged (PSS baseline)",
        "remove securityContext.privileged or set it to false";
    PSS_CAPABILITIES = "pss-capabilities", Error,
        "containers drop ALL capabilities and add at most NET_BIND_SERVICE (PSS restricted)",
        "set securityContext.capabilities to {drop: [ALL]} and add only NET_BIND_SERVICE if the container binds a port below 1024";
    PSS_HOST_PATH = "pss-host-path", Error,
        "no hostPath volumes (PSS baseline)",
        "use an emptyDir, a ConfigMap/Secret volume or a PersistentVolumeClaim instead";
    PSS_HOST_PORTS = "pss-host-ports", Error,
        "containers do not use host ports (PSS baseline)",
        "remove hostPort; expose the port through a Service";
    PSS_APPARMOR = "pss-apparmor", Error,
        "AppArmor is not disabled or overridden beyond RuntimeDefault/Localhost (PSS baseline)",
        "remove the AppArmor setting, or use type RuntimeDefault or Localhost";
    PSS_SELINUX = "pss-selinux", Error,
        "no custom SELinux user, role or type beyond the container types (PSS baseline)",
        "remove seLinuxOptions.user and role; type may only be container_t, container_init_t, container_kvm_t or container_engine_t";
    PSS_PROC_MOUNT = "pss-proc-mount", Error,
        "the default /proc mask is kept (PSS baseline)",
        "remove securityContext.procMount or set it to Default";
    PSS_SECCOMP = "pss-seccomp", Error,
        "a RuntimeDefault or Localhost seccomp profile is set, and never Unconfined (PSS restricted)",
        "set spec.securityContext.seccompProfile.type: RuntimeDefault";
    PSS_SYSCTLS = "pss-sysctls", Error,
        "only the safe sysctls are set (PSS baseline)",
        "remove the sysctl; only kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl and net.ipv4.tcp_keepalive_probes are allowed";
    PSS_VOLUME_TYPES = "pss-volume-types", Error,
        "volumes are configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected or secret (PSS restricted)",
        "use a PersistentVolumeClaim for storage that needs another volume type";
    PSS_PRIVILEGE_ESCALATION = "pss-privilege-escalation", Error,
        "containers set allowPrivilegeEscalation: false (PSS restricted)",
        "set securityContext.allowPrivilegeEscalation: false on every container";
    PSS_RUN_AS_NON_ROOT = "pss-run-as-non-root", Error,
        "runAsNonRoot is true for the pod or every container, and never false (PSS restricted)",
        "set spec.securityContext.runAsNonRoot: true and run as a non-zero UID";
    PSS_RUN_AS_USER = "pss-run-as-user", Error,
        "runAsUser is never 0 (PSS restricted)",
        "run as a non-zero UID, e.g. the image's own user";

    // References between resources.
    SELECTOR = "workload-selector", Error,
        "a workload's selector matches its own pod template",
        "make every selector label (and expression) hold for spec.template.metadata.labels";
    SERVICE_SELECTOR = "service-selector", Error,
        "a Service selector matches the pods of at least one workload",
        "make the Service selector a subset of the workload's pod template labels";
    SERVICE_PORT = "service-target-port", Error,
        "a Service targetPort (name or number) is a port of a selected container",
        "name the container port (ports[].name) and use that name as targetPort";
    INGRESS_CLASS = "ingress-class", Error,
        "an Ingress names its class once: `spec.ingressClassName` or the `kubernetes.io/ingress.class` annotation",
        "the API server refuses an Ingress with both: keep `spec.ingressClassName`, or only the annotation where the controller reads only that (GKE's)";
    INJECTED_HEADER_SIZE = "injected-header-size", Error,
        "a strategy injected into `x-portkey-config` fits the gateway's header limit: at most 12 KiB, each provider key counted as 256 bytes",
        "Node.js (the gateway) answers 431 when a request's headers pass 16 KiB, and the client's own headers need room: shorten the strategy or split it in two";
    PROBE_PATH = "probe-path", Error,
        "the open-source gateway's probes call a path it answers 2xx without headers",
        "probe `/` (the gateway has no health route: `/v1/*` answers 400 to a request without Portkey headers, other paths 404), or leave healthPath out";
    PROBE_PORT = "probe-port", Error,
        "a probe's port (name or number) is a port of its container",
        "use the name of one of the container's ports";
    SERVICE_MONITOR_PORT = "servicemonitor-port", Error,
        "a ServiceMonitor selects a Service that has each endpoint's port name",
        "set endpoints[].port to the name of a port of the selected Service";
    HTTPROUTE_BACKEND = "httproute-backend", Error,
        "an HTTPRoute backendRef names an existing Service and one of its ports",
        "point backendRefs at the Service's name and port number";
    NETWORK_POLICY_LABELS = "networkpolicy-labels", Error,
        "NetworkPolicy selectors use labels that namespaces and pods actually carry",
        "select namespaces by kubernetes.io/metadata.name, which Kubernetes sets on every namespace";
    NETWORK_POLICY_UNMATCHED = "networkpolicy-unmatched", Warning,
        "a NetworkPolicy selector matches something in the set",
        "check the selector's labels against the pods' and namespaces' labels";
    PDB_DRAIN = "pdb-drain", Error,
        "a PodDisruptionBudget lets a node drain evict at least one pod of each workload it selects",
        "keep minAvailable below the replicas (or use maxUnavailable: 1), or leave the budget out of single-replica environments";
    ENVIRONMENT_COLLISION = "environment-collision", Error,
        "no two environments sync an object of the same kind, namespace and name to the same cluster",
        "give the environment its own namespace (`set: { namespace: { name: ... } }` in its overlay) or its own cluster (`gitops.environments.<env>.cluster` and `kubeConfigSecret` in kiln.yaml)";
    SECRET_REF = "secret-ref", Error,
        "Secret references (env, envFrom, volumes, imagePullSecrets) resolve to a Secret or an ExternalSecret target and key",
        "render the Secret through an ExternalSecret whose target and secretKey match the reference, or mark the reference optional";
    CONFIG_MAP_REF = "configmap-ref", Error,
        "ConfigMap references (env, envFrom, volumes) resolve to a ConfigMap and key",
        "add the ConfigMap (or the key), or mark the reference optional";
    NAME_REF = "name-ref", Error,
        "a pod's serviceAccountName, an Ingress's backend Services, an HPA's scale target, an HTTPRoute's filter and an injected credential's Secret name objects in the set",
        "render the object (or point the reference at one that is rendered); renames with namePrefix/nameSuffix follow these references";

    // Images, resources, secrets.
    IMAGE_TAG = "image-tag", Error,
        "images are pinned: a tag other than latest, or a digest",
        "pin the image to a version tag (and a digest if you can)";
    VERSION_LABEL = "version-label", Error,
        "the app.kubernetes.io/version label or annotation equals the image tag",
        "set app.kubernetes.io/version to the tag of the workload's image; in a kiln overlay change the image with `set: { image: { tag: ... } }`, which moves the label with it (`images:` changes only the image)";
    RESOURCES = "resources", Error,
        "containers set cpu and memory requests and limits",
        "set resources.requests and resources.limits with cpu and memory";
    PLAINTEXT_SECRET = "plaintext-secret", Error,
        "no Secret carries data in Git",
        "store the value in the secret store and render an ExternalSecret instead";
    OBJECT_SIZE = "object-size", Error,
        "an object is at most 1 MiB as JSON (the API server refuses larger ConfigMaps and Secrets, and etcd larger requests)",
        "split the object; for strategies, move rarely used ones to the environments that need them";
    LITERAL_CREDENTIAL = "literal-credential", Error,
        "no env value, ConfigMap value or other string holds a credential",
        "move the value to the secret store and reference it with secretKeyRef through an ExternalSecret";

    // Schemas.
    SCHEMA = "schema", Error,
        "objects match their Kubernetes API type or custom resource schema exactly (no unknown or misspelt fields)",
        "fix the field name or value; `kubectl explain <kind>.<field>` shows the schema";
    UNKNOWN_KIND = "unknown-kind", Note,
        "kiln has a schema for the kind",
        "kiln checks references and pods of this kind, but not its fields";
    NOT_AN_OBJECT = "not-an-object", Error,
        "every document has apiVersion, kind and metadata.name",
        "add the missing field, or remove the document";
}

/// The rule with ID `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}
