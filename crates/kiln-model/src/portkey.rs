//! What the open-source Portkey gateway does, as of the version kiln is
//! tested against ([`GATEWAY_VERSION`]): how its image starts and what it
//! answers, its providers, the config fields it reads, and its check of
//! `custom_host`. `tests/gateway/` runs that exact version, the end-to-end
//! tests boot it as each rendered pod would, and a test re-reads these lists
//! from its code.

/// The `@portkey-ai/gateway` release these facts come from.
pub const GATEWAY_VERSION: &str = "1.15.2";

/// The port the gateway listens on unless started with `--port=N`; it does
/// not read `PORT` from its environment.
pub const DEFAULT_PORT: u16 = 8787;

/// The image's entrypoint (`portkeyai/gateway`, Dockerfile `ENTRYPOINT ["npm"]`),
/// run in its working directory `/app`, the npm package's root.
pub const IMAGE_ENTRYPOINT: [&str; 1] = ["npm"];

/// The image's `CMD ["run", "start:node"]`: `node build/start-server.js`.
/// Container `args` replace it.
pub const IMAGE_ARGS: [&str; 2] = ["run", "start:node"];

/// The container args that start the gateway on `port` (none for the default port).
pub fn args_for_port(port: u16) -> Option<Vec<String>> {
    (port != DEFAULT_PORT).then(|| {
        IMAGE_ARGS
            .iter()
            .map(|a| a.to_string())
            .chain(["--".to_string(), format!("--port={port}")])
            .collect()
    })
}

/// The path that answers 200 without headers: `GET /` ("AI Gateway says
/// hey!"). The gateway has no health route; `/v1/*` goes through its request
/// check and answers 400 to a request without `x-portkey-config` or
/// `x-portkey-provider`, as a kubelet probe is.
pub const HEALTH_PATH: &str = "/";

/// Every path the gateway answers 2xx to a request without headers, as a
/// kubelet probe is: the only paths its probes may call (kiln check's
/// `probe-path` judges the rendered probes, whatever set them). The
/// end-to-end tests ask the real gateway for each.
pub const PROBE_PATHS: [&str; 1] = [HEALTH_PATH];

/// The repository of the open-source gateway's image.
pub const IMAGE: &str = "portkeyai/gateway";

/// The providers the gateway's config schema accepts.
pub const PROVIDERS: &[&str] = &[
    "anthropic",
    "anyscale",
    "azure-openai",
    "cohere",
    "google",
    "vertex-ai",
    "mistral-ai",
    "openai",
    "palm",
    "perplexity-ai",
    "reka-ai",
    "together-ai",
    "deepinfra",
    "ncompass",
    "stability-ai",
    "nomic",
    "ollama",
    "ai21",
    "bedrock",
    "groq",
    "segmind",
    "jina",
    "fireworks-ai",
    "workers-ai",
    "moonshot",
    "openrouter",
    "lingyi",
    "zhipu",
    "novita-ai",
    "monsterapi",
    "deepseek",
    "predibase",
    "triton",
    "voyage",
    "azure-ai",
    "github",
    "deepbricks",
    "siliconflow",
    "huggingface",
    "cerebras",
    "inference-net",
    "sambanova",
    "lemonfox-ai",
    "upstage",
    "lambda",
    "dashscope",
    "x-ai",
    "cortex",
    "sagemaker",
    "nebius",
    "recraft-ai",
    "milvus",
    "replicate",
    "portkey",
    "lepton",
    "kluster-ai",
    "nscale",
    "hyperbolic",
    "bytez",
    "featherless-ai",
    "krutrim",
    "qdrant",
    "302ai",
    "cometapi",
    "matterai",
    "meshy",
    "tripo3d",
    "nextbit",
    "modal",
    "z-ai",
    "oracle",
    "iointelligence",
    "aibadgr",
    "ovhcloud",
];

/// Provider options the gateway reads from a config (each snake_case key
/// becomes the camelCase option a provider uses), beyond the fields kiln
/// types itself. A key outside this list and the typed fields of a config is
/// refused by kiln: the gateway would ignore it, so it is most likely a typo.
pub const PROVIDER_OPTIONS: &[&str] = &[
    "amzn_sagemaker_custom_attributes",
    "amzn_sagemaker_enable_explanations",
    "amzn_sagemaker_inference_component",
    "amzn_sagemaker_inference_id",
    "amzn_sagemaker_model_name",
    "amzn_sagemaker_session_id",
    "amzn_sagemaker_target_container_hostname",
    "amzn_sagemaker_target_model",
    "amzn_sagemaker_target_variant",
    "anthropic_api_key",
    "anthropic_beta",
    "anthropic_version",
    "api_version",
    "aws_auth_type",
    "aws_bedrock_model",
    "aws_external_id",
    "aws_role_arn",
    "aws_s3_bucket",
    "aws_s3_object_key",
    "aws_server_side_encryption",
    "azure_ad_token",
    "azure_api_version",
    "azure_endpoint_name",
    "azure_entra_client_id",
    "azure_entra_client_secret",
    "azure_entra_scope",
    "azure_entra_tenant_id",
    "azure_extra_parameters",
    "azure_foundry_url",
    "azure_managed_client_id",
    "azure_workload_client_id",
    "deployment_id",
    "filename",
    "fireworks_account_id",
    "fireworks_file_length",
    "guardrails",
    "huggingface_base_url",
    "mistral_fim_completion",
    "openai_beta",
    "oracle_api_version",
    "oracle_compartment_id",
    "oracle_fingerprint",
    "oracle_key_passphrase",
    "oracle_private_key",
    "oracle_region",
    "oracle_serving_mode",
    "oracle_tenancy",
    "oracle_user",
    "resource_name",
    "snowflake_account",
    "stability_client_id",
    "stability_client_user_id",
    "stability_client_version",
    "vertex_batch_endpoint",
    "vertex_model_name",
    "vertex_storage_bucket_name",
    "virtual_key",
    "workers_ai_account_id",
];

/// Hosts the gateway trusts as `custom_host` without `TRUSTED_CUSTOM_HOSTS`.
const TRUSTED_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "host.docker.internal"];
/// Cloud metadata and other hosts it never calls.
const BLOCKED_HOSTS: [&str; 6] = [
    "0.0.0.0",
    "169.254.169.254",
    "metadata.google.internal",
    "metadata",
    "metadata.azure.com",
    "instance-data",
];
/// Host name endings it refuses (but `localhost` itself).
const BLOCKED_SUFFIXES: [&str; 11] = [
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".corp",
    ".test",
    ".invalid",
    ".onion",
    ".localhost",
];

/// Whether the gateway accepts `host` as a `custom_host`, with its default
/// trusted hosts: an http(s) URL without credentials, to a public host or a
/// trusted one; never a private, reserved or metadata address.
///
/// ```
/// use kiln_model::portkey::custom_host_ok;
/// assert!(custom_host_ok("https://llm.example.com/v1"));
/// assert!(custom_host_ok("http://localhost:11434"));
/// assert!(custom_host_ok("http://ollama.ai.svc.cluster.local:11434") == false);
/// assert!(!custom_host_ok("http://10.0.0.5:8000"));
/// assert!(!custom_host_ok("http://0x0a.1/")); // 10.0.0.1, after WHATWG URL parsing
/// assert!(!custom_host_ok("https://user:pw@example.com"));
/// ```
pub fn custom_host_ok(host: &str) -> bool {
    let lower = host.trim().to_lowercase();
    if lower.is_empty() || host.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
        return false;
    }
    if lower.contains("api.portkey")
        || ["file://", "data:", "gopher:", "ftp://", "ftps://"]
            .iter()
            .any(|p| lower.starts_with(p))
        || host.contains('@')
    {
        return false;
    }
    let Ok(url) = url::Url::parse(host) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    // An IPv6 literal keeps its brackets, which the gateway's host check refuses.
    let Some(hostname) = url.host_str() else {
        return false;
    };
    let port_ok = url.port().is_none_or(|p| p > 0);
    let plain = hostname
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if hostname.is_empty() || !plain || hostname.ends_with('.') || hostname.split('.').count() > 10
    {
        return false;
    }
    if TRUSTED_HOSTS.contains(&hostname) || hostname.ends_with(".localhost") {
        return port_ok;
    }
    if BLOCKED_HOSTS.contains(&hostname)
        || hostname.starts_with("169.254.169.")
        || BLOCKED_SUFFIXES.iter().any(|s| hostname.ends_with(s))
    {
        return false;
    }
    if let Ok(ip) = hostname.parse::<std::net::Ipv4Addr>()
        && private_or_reserved(ip)
    {
        return false;
    }
    port_ok
}

/// The ranges the gateway refuses: private, loopback, link-local, CGNAT, this-network, multicast and above.
fn private_or_reserved(ip: std::net::Ipv4Addr) -> bool {
    let n = u32::from(ip);
    let ranges: [(u32, u32); 8] = [
        (0x0A00_0000, 0x0AFF_FFFF),
        (0xAC10_0000, 0xAC1F_FFFF),
        (0xC0A8_0000, 0xC0A8_FFFF),
        (0x7F00_0000, 0x7FFF_FFFF),
        (0xA9FE_0000, 0xA9FE_FFFF),
        (0x6440_0000, 0x647F_FFFF),
        (0x0000_0000, 0x00FF_FFFF),
        (0xE000_0000, 0xFFFF_FFFF),
    ];
    ranges.iter().any(|(a, b)| (*a..=*b).contains(&n))
}
