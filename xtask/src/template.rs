//! The functions' part of `template.yaml`: each function with its network, environment,
//! permissions and routes, its log group, and its alarms. Everything else in the template is
//! written by hand.

use std::fmt::Write as _;

use crate::routes::{Prefix, event_name, prefixes};
use crate::table::{API_TIMEOUT, FUNCTIONS, Function, Kind};

/// Seconds a request waits for a connection while a paused database resumes (lean profile).
pub const RESUME_WAIT: u32 = 20;
/// The API functions' timeout then: the wait, and the request's own work.
pub const RESUME_TIMEOUT: u32 = 25;

/// The database's owner: the migrate function's (created: the cluster's managed master secret).
const DB_SECRET: &str = "!If [CreateDatabase, !GetAtt DatabaseCluster.MasterUserSecret.SecretArn, !Ref DatabaseSecretArn]";
/// The API functions': with a created database, the role that reads and writes rows and can
/// change no schema (`cinema_api`); a given database's own secret otherwise.
const API_DB_SECRET: &str = "!If [CreateDatabase, !Ref ApiDatabaseSecret, !Ref DatabaseSecretArn]";

/// The generated resources, as they stand between the template's markers.
pub fn resources() -> String {
    let mut out = String::new();
    for function in FUNCTIONS {
        out.push_str(&function_resource(function));
    }
    out.push_str(
        "  # One log group per function, under the name Lambda writes to, with a retention; deleted\n  \
         # with the stack (export what you need to keep; a retained group would be billed forever). The\n  \
         # migration (the first invocation) waits for the migrate function's; the API functions'\n  \
         # are created seconds after the functions, before the API can route to them.\n",
    );
    for function in FUNCTIONS {
        out.push_str(&log_group(function));
    }
    for function in FUNCTIONS {
        out.push_str(&alarms(function));
    }
    out
}

fn function_resource(f: &Function) -> String {
    let mut out = String::new();
    for line in f.comment.lines().filter(|line| !line.trim().is_empty()) {
        let _ = writeln!(out, "  # {}", line.trim());
    }
    let _ = writeln!(
        out,
        "  {}:\n    Type: AWS::Serverless::Function",
        f.logical_id()
    );
    if f.kind == Kind::Api {
        out.push_str("    DependsOn: SchemaMigration\n");
    }
    let _ = write!(
        out,
        "    Metadata:\n      \
         # WS1000 (tracing not 'Active'): Tracing is a parameter (Globals), PassThrough by\n      \
         # default because X-Ray bills per recorded trace; Tracing=Active turns it on.\n      \
         cfn-lint: {{config: {{ignore_checks: [WS1000]}}}}\n      \
         BuildMethod: rust-cargolambda\n      \
         BuildProperties:\n        \
         Binary: {}\n    \
         Properties:\n      \
         Description: {}\n",
        f.name, f.description
    );
    if f.kind == Kind::Migrate {
        out.push_str("      AutoPublishAlias: live\n");
    }
    let _ = writeln!(out, "      MemorySize: {}", f.memory);
    if f.kind == Kind::Api {
        let _ = writeln!(
            out,
            "      Timeout: !If [PausingDatabase, {RESUME_TIMEOUT}, {}]",
            f.timeout
        );
    } else if f.timeout != API_TIMEOUT {
        let _ = writeln!(out, "      Timeout: {}", f.timeout);
    }
    if f.in_vpc() {
        out.push_str(
            "      VpcConfig:\n        \
             SubnetIds: !If [CreateNetwork, [!Ref PrivateSubnetA, !Ref PrivateSubnetB], !Ref SubnetIds]\n        \
             SecurityGroupIds: !If [CreateNetwork, [!Ref FunctionSecurityGroup], !Ref SecurityGroupIds]\n",
        );
    }
    let environment = environment(f);
    if !environment.is_empty() {
        out.push_str("      Environment:\n        Variables:\n");
        for (name, value) in environment {
            let _ = writeln!(out, "          {name}: {value}");
        }
    }
    out.push_str(&policies(f));
    out.push_str(&events(f));
    out.push('\n');
    out
}

/// The function's environment: (variable, template value).
fn environment(f: &Function) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: &str| env.push((name.to_owned(), value.to_owned()));
    match f.kind {
        Kind::Api => set("APP_SECRET_ARN", "!Ref AppSecret"),
        Kind::Migrate => set("ADMIN_SECRET_ARN", "!Ref AdminSecret"),
        Kind::Outbound => set("APP_SECRET_ARN", "!Ref AppSecret"),
        Kind::Static => {}
        Kind::Fallback => set("ROUTES", &fallback_routes()),
    }
    for name in f.invokes {
        // Empty when online sales are off: the function then sells nothing online.
        set(
            "PAYMENTS_FUNCTION",
            &format!("!If [SellOnline, !Ref {}, \"\"]", logical_id_of(name)),
        );
    }
    if f.in_vpc() {
        if f.kind == Kind::Migrate {
            set("DB_SECRET_ARN", DB_SECRET);
            set(
                "API_DB_SECRET_ARN",
                "!If [CreateDatabase, !Ref ApiDatabaseSecret, \"\"]",
            );
        } else {
            set("DB_SECRET_ARN", API_DB_SECRET);
        }
        set(
            "DB_HOST",
            "!If [UseProxy, !GetAtt DatabaseProxy.Endpoint, !If [CreateDatabase, !GetAtt DatabaseCluster.Endpoint.Address, !Ref DatabaseHost]]",
        );
        set(
            "DB_PORT",
            "!If [CreateDatabase, \"5432\", !Ref DatabasePort]",
        );
        set("DB_NAME", "!If [CreateDatabase, cinema, !Ref DatabaseName]");
        set("DB_SSL_MODE", "!Ref DatabaseSslMode");
        if f.kind == Kind::Migrate {
            set("DB_STATEMENT_TIMEOUT_MS", "\"240000\"");
            set("DB_LOCK_TIMEOUT_MS", "\"30000\"");
        } else {
            // A created database gives the API role these limits itself (role settings, through
            // any proxy); a given one gets them from each new connection (one SET).
            set(
                "DB_STATEMENT_TIMEOUT_MS",
                "!If [CreateDatabase, \"\", \"4000\"]",
            );
            set("DB_LOCK_TIMEOUT_MS", "!If [CreateDatabase, \"\", \"2000\"]");
        }
        set("DB_POOL_MAX_CONNECTIONS", "\"2\"");
        // A paused database resumes in about 15 s: the first request waits for it (within the
        // function's longer timeout) instead of failing; idle connections close after a minute,
        // so that warm instances let it pause.
        set(
            "DB_ACQUIRE_TIMEOUT_SECONDS",
            &format!("!If [PausingDatabase, \"{RESUME_WAIT}\", \"3\"]"),
        );
        set(
            "DB_IDLE_TIMEOUT_SECONDS",
            "!If [PausingDatabase, \"60\", \"300\"]",
        );
        if f.kind != Kind::Migrate {
            // An instance Lambda initializes before any request arrives must not resume a
            // paused database: then the first request connects.
            set(
                "DB_CONNECT_AT_INIT",
                "!If [PausingDatabase, \"false\", \"true\"]",
            );
        }
        set("BCRYPT_COST", "!Ref BcryptCost");
        set("ACCESS_TOKEN_TTL_SECONDS", "!Ref AccessTokenTtlSeconds");
    }
    for (name, parameter) in f.settings {
        set(name, &format!("!Ref {parameter}"));
    }
    env
}

/// `ROUTES` of the fallback function: every prefix a function serves, to that function.
fn fallback_routes() -> String {
    let pairs: Vec<String> = routed()
        .flat_map(|f| {
            prefixes(f.name)
                .into_iter()
                .map(move |p| format!("\"{}\":\"${{{}}}\"", p.path, f.logical_id()))
        })
        .collect();
    format!("!Sub '{{{}}}'", pairs.join(","))
}

/// The logical id of the function named `name`.
fn logical_id_of(name: &str) -> String {
    FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .map(Function::logical_id)
        .unwrap_or_else(|| panic!("no function named {name} in the table"))
}

/// The functions routes lead to.
pub fn routed() -> impl Iterator<Item = &'static Function> {
    FUNCTIONS.iter().filter(|f| !prefixes(f.name).is_empty())
}

fn policies(f: &Function) -> String {
    let (action, resources): (&str, Vec<String>) = match f.kind {
        Kind::Api => (
            "secretsmanager:GetSecretValue",
            vec!["!Ref AppSecret".into(), API_DB_SECRET.into()],
        ),
        Kind::Migrate => (
            "secretsmanager:GetSecretValue",
            vec![
                "!Ref AdminSecret".into(),
                DB_SECRET.into(),
                "!If [CreateDatabase, !Ref ApiDatabaseSecret, !Ref AWS::NoValue]".into(),
            ],
        ),
        Kind::Fallback => (
            "lambda:InvokeFunction",
            routed()
                .map(|target| format!("!GetAtt {}.Arn", target.logical_id()))
                .collect(),
        ),
        Kind::Outbound => (
            "secretsmanager:GetSecretValue",
            vec!["!Ref AppSecret".into()],
        ),
        Kind::Static => return String::new(),
    };
    let mut out = format!(
        "      Policies:\n        \
         - Statement:\n            \
         - Effect: Allow\n              \
         Action: {action}\n              \
         Resource:\n"
    );
    for resource in resources {
        let _ = writeln!(out, "                - {resource}");
    }
    if !f.invokes.is_empty() {
        out.push_str(
            "            - Effect: Allow\n              \
             Action: lambda:InvokeFunction\n              \
             Resource:\n",
        );
        for name in f.invokes {
            let _ = writeln!(out, "                - !GetAtt {}.Arn", logical_id_of(name));
        }
    }
    if action == "secretsmanager:GetSecretValue" {
        // A given secret may be encrypted with a customer-managed key.
        out.push_str(
            "            - !If\n              \
             - HasSecretsKey\n              \
             - Effect: Allow\n                \
             Action: kms:Decrypt\n                \
             Resource: !Ref SecretsKmsKeyArn\n                \
             Condition:\n                  \
             StringEquals:\n                    \
             kms:ViaService: !Sub \"secretsmanager.${AWS::Region}.amazonaws.com\"\n              \
             - !Ref AWS::NoValue\n",
        );
    }
    out
}

fn events(f: &Function) -> String {
    let mut events: Vec<(String, String, String)> = Vec::new();
    for (method, path) in f.exact_routes {
        let name = event_name(path.rsplit('/').next().unwrap_or(path));
        events.push((name, (*method).to_owned(), (*path).to_owned()));
    }
    for Prefix { path, exact, below } in prefixes(f.name) {
        let name = event_name(&path);
        if exact {
            events.push((name.clone(), "ANY".into(), path.clone()));
        }
        if below {
            events.push((
                format!("{name}Proxy"),
                "ANY".into(),
                format!("\"{path}/{{proxy+}}\""),
            ));
        }
    }
    if f.kind == Kind::Fallback {
        events.push(("Default".into(), "any".into(), "$default".into()));
    }
    if events.is_empty() {
        return String::new();
    }
    let mut out = String::from("      Events:\n");
    if !f.exact_routes.is_empty() {
        out.push_str(
            "        # Exact routes win over the greedy ones: they exist to carry the tighter throttling\n        \
             # of HttpApi.RouteSettings.\n",
        );
    }
    for (name, method, path) in events {
        let _ = write!(
            out,
            "        {name}:\n          \
             Type: HttpApi\n          \
             Properties: {{ApiId: !Ref HttpApi, Method: {method}, Path: {path}}}\n"
        );
    }
    out
}

fn log_group(f: &Function) -> String {
    format!(
        "  {title}LogGroup:\n    \
         Type: AWS::Logs::LogGroup\n    \
         DeletionPolicy: Delete\n    \
         UpdateReplacePolicy: Delete\n    \
         Properties:\n      \
         LogGroupName: !Sub \"/aws/lambda/${{{id}}}\"\n      \
         RetentionInDays: !Ref LogRetentionDays\n\n",
        title = f.title(),
        id = f.logical_id()
    )
}

fn alarms(f: &Function) -> String {
    let (title, id) = (f.title(), f.logical_id());
    let alarm =
        |kind: &str, description: String, statistic: &str, threshold: String, comparison: &str| {
            format!(
                "  {title}{kind}Alarm:\n    \
             Type: AWS::CloudWatch::Alarm\n    \
             Properties:\n      \
             AlarmDescription: {description}\n      \
             Namespace: AWS/Lambda\n      \
             MetricName: {metric}\n      \
             Dimensions: [{{Name: FunctionName, Value: !Ref {id}}}]\n      \
             {statistic}\n      \
             Period: 300\n      \
             EvaluationPeriods: 1\n      \
             Threshold: {threshold}\n      \
             ComparisonOperator: {comparison}\n      \
             TreatMissingData: notBreaching\n      \
             AlarmActions: !If [NotifyByEmail, [!Ref AlarmTopic], !Ref AWS::NoValue]\n      \
             OKActions: !If [NotifyByEmail, [!Ref AlarmTopic], !Ref AWS::NoValue]\n\n",
                metric = if kind == "Duration" { "Duration" } else { kind },
            )
        };
    let timeout_ms = u64::from(f.timeout) * 1000;
    let slow = if f.kind == Kind::Api {
        format!(
            "!If [PausingDatabase, {}, {}]",
            u64::from(RESUME_TIMEOUT) * 800,
            timeout_ms * 8 / 10
        )
    } else {
        (timeout_ms * 8 / 10).to_string()
    };
    [
        alarm(
            "Errors",
            format!(
                "{title} function failed invocations (a crash, a timeout or an unanswered event)"
            ),
            "Statistic: Sum",
            "1".into(),
            "GreaterThanOrEqualToThreshold",
        ),
        alarm(
            "Throttles",
            format!("{title} function throttled invocations (concurrency exhausted)"),
            "Statistic: Sum",
            "1".into(),
            "GreaterThanOrEqualToThreshold",
        ),
        alarm(
            "Duration",
            format!(
                "{title} function p99 duration above 80% of its {} s timeout",
                f.timeout
            ),
            "ExtendedStatistic: p99",
            slow,
            "GreaterThanThreshold",
        ),
    ]
    .concat()
}
