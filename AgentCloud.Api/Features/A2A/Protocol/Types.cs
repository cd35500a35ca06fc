using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AgentCloud.Api.Features.A2A.Protocol;

// The A2A 1.0 data objects (a2a-protocol.org, specification section 4), in their JSON form (ProtoJSON of
// specification/a2a.proto: lowerCamelCase names, enums as their proto names, oneofs as one named member).
// Only what this server reads or writes is typed; unknown members are ignored, as the spec asks.

public static class A2AJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };
}

public static class TaskStates
{
    public const string Submitted = "TASK_STATE_SUBMITTED";
    public const string Working = "TASK_STATE_WORKING";
    public const string Completed = "TASK_STATE_COMPLETED";
    public const string Failed = "TASK_STATE_FAILED";
    public const string Canceled = "TASK_STATE_CANCELED";
    public const string InputRequired = "TASK_STATE_INPUT_REQUIRED";
    public const string Rejected = "TASK_STATE_REJECTED";
    public const string AuthRequired = "TASK_STATE_AUTH_REQUIRED";

    public static readonly IReadOnlyList<string> All = [Submitted, Working, Completed, Failed, Canceled, InputRequired, Rejected,
        AuthRequired];

    public static bool IsTerminal(string state) => state is Completed or Failed or Canceled or Rejected;
}

public static class Roles
{
    public const string User = "ROLE_USER";
    public const string Agent = "ROLE_AGENT";
}

/// <summary>One piece of content: exactly one of text, raw (base64), url or data.</summary>
public sealed record Part
{
    public string? Text { get; init; }
    public string? Raw { get; init; }
    public string? Url { get; init; }
    public JsonNode? Data { get; init; }
    public JsonObject? Metadata { get; init; }
    public string? Filename { get; init; }
    public string? MediaType { get; init; }
}

public sealed record Message
{
    public string? MessageId { get; init; }
    public string? ContextId { get; init; }
    public string? TaskId { get; init; }
    public string Role { get; init; } = "";
    public IReadOnlyList<Part> Parts { get; init; } = [];
    public JsonObject? Metadata { get; init; }
    public IReadOnlyList<string>? Extensions { get; init; }
    public IReadOnlyList<string>? ReferenceTaskIds { get; init; }
}

public sealed record TaskStatus
{
    public string State { get; init; } = "";
    public Message? Message { get; init; }
    public string? Timestamp { get; init; }
}

public sealed record Artifact
{
    public string ArtifactId { get; init; } = "";
    public string? Name { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<Part> Parts { get; init; } = [];
    public JsonObject? Metadata { get; init; }
    public IReadOnlyList<string>? Extensions { get; init; }
}

/// <summary>An A2A task (named so as not to clash with System.Threading.Tasks.Task).</summary>
public sealed record A2ATask
{
    public string Id { get; init; } = "";
    public string? ContextId { get; init; }
    public TaskStatus Status { get; init; } = new();
    public IReadOnlyList<Artifact>? Artifacts { get; init; }
    public IReadOnlyList<Message>? History { get; init; }
    public JsonObject? Metadata { get; init; }
}

public sealed record TaskStatusUpdateEvent
{
    public string TaskId { get; init; } = "";
    public string? ContextId { get; init; }
    public TaskStatus Status { get; init; } = new();
    public JsonObject? Metadata { get; init; }
}

public sealed record TaskArtifactUpdateEvent
{
    public string TaskId { get; init; } = "";
    public string? ContextId { get; init; }
    public Artifact Artifact { get; init; } = new();
    public bool? Append { get; init; }
    public bool? LastChunk { get; init; }
    public JsonObject? Metadata { get; init; }
}

/// <summary>One event of a stream: exactly one member set.</summary>
public sealed record StreamResponse
{
    public A2ATask? Task { get; init; }
    public Message? Message { get; init; }
    public TaskStatusUpdateEvent? StatusUpdate { get; init; }
    public TaskArtifactUpdateEvent? ArtifactUpdate { get; init; }
}

public sealed record SendMessageConfiguration
{
    public IReadOnlyList<string>? AcceptedOutputModes { get; init; }
    public int? HistoryLength { get; init; }
    public bool? ReturnImmediately { get; init; }
    public JsonObject? TaskPushNotificationConfig { get; init; }
}

public sealed record SendMessageRequest
{
    public string? Tenant { get; init; }
    public Message? Message { get; init; }
    public SendMessageConfiguration? Configuration { get; init; }
    public JsonObject? Metadata { get; init; }
}

/// <summary>The answer to SendMessage: a task or a message.</summary>
public sealed record SendMessageResponse
{
    public A2ATask? Task { get; init; }
    public Message? Message { get; init; }
}

public sealed record GetTaskRequest
{
    public string? Tenant { get; init; }
    public string? Id { get; init; }
    public int? HistoryLength { get; init; }
}

public sealed record ListTasksRequest
{
    public string? Tenant { get; init; }
    public string? ContextId { get; init; }
    public string? Status { get; init; }
    public int? PageSize { get; init; }
    public string? PageToken { get; init; }
    public int? HistoryLength { get; init; }
    public string? StatusTimestampAfter { get; init; }
    public bool? IncludeArtifacts { get; init; }
}

public sealed record ListTasksResponse
{
    public IReadOnlyList<A2ATask> Tasks { get; init; } = [];
    public string NextPageToken { get; init; } = "";
    public int PageSize { get; init; }
    public int TotalSize { get; init; }
}

public sealed record CancelTaskRequest
{
    public string? Tenant { get; init; }
    public string? Id { get; init; }
    public JsonObject? Metadata { get; init; }
}

public sealed record SubscribeToTaskRequest
{
    public string? Tenant { get; init; }
    public string? Id { get; init; }
}

public sealed record AgentCard
{
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public IReadOnlyList<AgentInterface> SupportedInterfaces { get; init; } = [];
    public AgentProvider? Provider { get; init; }
    public string Version { get; init; } = "";
    public string? DocumentationUrl { get; init; }
    public AgentCapabilities Capabilities { get; init; } = new();
    public IReadOnlyDictionary<string, SecurityScheme>? SecuritySchemes { get; init; }
    public IReadOnlyList<SecurityRequirement>? SecurityRequirements { get; init; }
    public IReadOnlyList<string> DefaultInputModes { get; init; } = [];
    public IReadOnlyList<string> DefaultOutputModes { get; init; } = [];
    public IReadOnlyList<AgentSkill> Skills { get; init; } = [];
    public IReadOnlyList<AgentCardSignature>? Signatures { get; init; }
    public string? IconUrl { get; init; }
}

public sealed record AgentInterface
{
    public string Url { get; init; } = "";
    public string ProtocolBinding { get; init; } = "";
    public string ProtocolVersion { get; init; } = "";
    public string? Tenant { get; init; }
}

public static class ProtocolBindings
{
    public const string JsonRpc = "JSONRPC";
    public const string Grpc = "GRPC";
    public const string HttpJson = "HTTP+JSON";
}

public sealed record AgentProvider
{
    public string Organization { get; init; } = "";
    public string Url { get; init; } = "";
}

public sealed record AgentCapabilities
{
    public bool? Streaming { get; init; }
    public bool? PushNotifications { get; init; }
    public bool? ExtendedAgentCard { get; init; }
    public IReadOnlyList<AgentExtension>? Extensions { get; init; }
}

public sealed record AgentExtension
{
    public string Uri { get; init; } = "";
    public string? Description { get; init; }
    public bool? Required { get; init; }
    public JsonObject? Params { get; init; }
}

public sealed record AgentSkill
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<string>? Examples { get; init; }
    public IReadOnlyList<string>? InputModes { get; init; }
    public IReadOnlyList<string>? OutputModes { get; init; }
}

/// <summary>A oneof: the scheme kinds this server uses are typed, the others kept as they came.</summary>
public sealed record SecurityScheme
{
    public HttpAuthSecurityScheme? HttpAuthSecurityScheme { get; init; }
    public OpenIdConnectSecurityScheme? OpenIdConnectSecurityScheme { get; init; }

    [JsonExtensionData]
    public IDictionary<string, JsonElement>? Other { get; init; }
}

public sealed record HttpAuthSecurityScheme
{
    public string? Description { get; init; }
    public string Scheme { get; init; } = "";
    public string? BearerFormat { get; init; }
}

public sealed record OpenIdConnectSecurityScheme
{
    public string? Description { get; init; }
    public string OpenIdConnectUrl { get; init; } = "";
}

public sealed record SecurityRequirement
{
    public IReadOnlyDictionary<string, StringList> Schemes { get; init; } = new Dictionary<string, StringList>();
}

public sealed record StringList
{
    public IReadOnlyList<string> List { get; init; } = [];
}

public sealed record AgentCardSignature
{
    public string Protected { get; init; } = "";
    public string Signature { get; init; } = "";
    public JsonObject? Header { get; init; }
}
