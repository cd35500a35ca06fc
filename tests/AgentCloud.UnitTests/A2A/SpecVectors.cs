namespace AgentCloud.UnitTests.A2A;

/// <summary>JSON examples from the A2A 1.0 specification (docs/specification.md of a2aproject/A2A), verbatim.</summary>
public static class SpecVectors
{
    /// <summary>Section 8.5, "Sample Agent Card".</summary>
    public const string SampleAgentCard =
        """
        {
          "name": "GeoSpatial Route Planner Agent",
          "description": "Provides advanced route planning, traffic analysis, and custom map generation services. This agent can calculate optimal routes, estimate travel times considering real-time traffic, and create personalized maps with points of interest.",
          "supportedInterfaces": [
            {"url": "https://georoute-agent.example.com/a2a/v1", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": "https://georoute-agent.example.com/a2a/grpc", "protocolBinding": "GRPC", "protocolVersion": "1.0"},
            {"url": "https://georoute-agent.example.com/a2a/json", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
          ],
          "provider": {
            "organization": "Example Geo Services Inc.",
            "url": "https://www.examplegeoservices.com"
          },
          "iconUrl": "https://georoute-agent.example.com/icon.png",
          "version": "1.2.0",
          "documentationUrl": "https://docs.examplegeoservices.com/georoute-agent/api",
          "capabilities": {
            "streaming": true,
            "pushNotifications": true,
            "extendedAgentCard": true
          },
          "securitySchemes": {
            "google": {
              "openIdConnectSecurityScheme": {
                "openIdConnectUrl": "https://accounts.google.com/.well-known/openid-configuration"
              }
            }
          },
          "securityRequirements": [{ "schemes": { "google": { "list": ["openid", "profile", "email"] } } }],
          "defaultInputModes": ["application/json", "text/plain"],
          "defaultOutputModes": ["application/json", "image/png"],
          "skills": [
            {
              "id": "route-optimizer-traffic",
              "name": "Traffic-Aware Route Optimizer",
              "description": "Calculates the optimal driving route between two or more locations, taking into account real-time traffic conditions, road closures, and user preferences (e.g., avoid tolls, prefer highways).",
              "tags": ["maps", "routing", "navigation", "directions", "traffic"],
              "examples": [
                "Plan a route from '1600 Amphitheatre Parkway, Mountain View, CA' to 'San Francisco International Airport' avoiding tolls.",
                "{\"origin\": {\"lat\": 37.422, \"lng\": -122.084}, \"destination\": {\"lat\": 37.7749, \"lng\": -122.4194}, \"preferences\": [\"avoid_ferries\"]}"
              ],
              "inputModes": ["application/json", "text/plain"],
              "outputModes": [
                "application/json",
                "application/vnd.geo+json",
                "text/html"
              ]
            },
            {
              "id": "custom-map-generator",
              "name": "Personalized Map Generator",
              "description": "Creates custom map images or interactive map views based on user-defined points of interest, routes, and style preferences. Can overlay data layers.",
              "tags": ["maps", "customization", "visualization", "cartography"],
              "examples": [
                "Generate a map of my upcoming road trip with all planned stops highlighted.",
                "Show me a map visualizing all coffee shops within a 1-mile radius of my current location."
              ],
              "inputModes": ["application/json"],
              "outputModes": [
                "image/png",
                "image/jpeg",
                "application/json",
                "text/html"
              ]
            }
          ],
          "signatures": [
            {
              "protected": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpPU0UiLCJraWQiOiJrZXktMSIsImprdSI6Imh0dHBzOi8vZXhhbXBsZS5jb20vYWdlbnQvandrcy5qc29uIn0",
              "signature": "QFdkNLNszlGj3z3u0YQGt_T9LixY3qtdQpZmsTdDHDe3fXV9y9-B3m2-XgCpzuhiLt8E0tV6HXoZKHv4GtHgKQ"
            }
          ]
        }
        """;

    /// <summary>Section 6.1, "Basic Task Execution": the request.</summary>
    public const string BasicSendRequest =
        """
        {
          "message": {
            "role": "ROLE_USER",
            "parts": [{"text": "What is the weather today?"}],
            "messageId": "msg-uuid"
          }
        }
        """;

    /// <summary>Section 6.1: the response.</summary>
    public const string BasicSendResponse =
        """
        {
          "task": {
            "id": "task-uuid",
            "contextId": "context-uuid",
            "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{
              "artifactId": "artifact-uuid",
              "name": "Weather Report",
              "parts": [{"text": "Today will be sunny with a high of 75°F"}]
            }]
          }
        }
        """;

    /// <summary>Section 6.2, "Streaming Task Execution": the three events of the SSE response.</summary>
    public static readonly string[] StreamingEvents =
    [
        """{"task": {"id": "task-uuid", "contextId": "context-uuid", "status": {"state": "TASK_STATE_WORKING"}}}""",
        """{"artifactUpdate": {"taskId": "task-uuid", "contextId": "context-uuid", "artifact": {"parts": [{"text": "# Climate Change Report\n\n"}]}}}""",
        """{"statusUpdate": {"taskId": "task-uuid", "contextId": "context-uuid", "status": {"state": "TASK_STATE_COMPLETED"}}}""",
    ];

    /// <summary>Section 4.6.2, a message with an extension.</summary>
    public const string MessageWithExtension =
        """
        {
          "role": "ROLE_USER",
          "parts": [
            {"text": "Find restaurants near me"}
          ],
          "extensions": ["https://example.com/extensions/geolocation/v1"],
          "metadata": {
            "https://example.com/extensions/geolocation/v1": {
              "latitude": 37.7749,
              "longitude": -122.4194,
              "accuracy": 10.0,
              "timestamp": "2025-10-21T14:30:00Z"
            }
          }
        }
        """;

    /// <summary>Section 9.4.3, GetTask.</summary>
    public const string GetTaskRequest =
        """{"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": "task-uuid", "historyLength": 10}}""";

    /// <summary>Section 9.4.4, ListTasks.</summary>
    public const string ListTasksRequest =
        """
        {
          "jsonrpc": "2.0",
          "id": 3,
          "method": "ListTasks",
          "params": {
            "contextId": "context-uuid",
            "status": "TASK_STATE_WORKING",
            "pageSize": 50,
            "pageToken": "cursor-token"
          }
        }
        """;

    /// <summary>Section 9.4.5, CancelTask.</summary>
    public const string CancelTaskRequest = """{"jsonrpc": "2.0", "id": 4, "method": "CancelTask", "params": {"id": "task-uuid"}}""";

    /// <summary>Section 9.5, the error response structure.</summary>
    public const string InvalidParamsError =
        """
        {
          "jsonrpc": "2.0",
          "id": 1,
          "error": {
            "code": -32602,
            "message": "Invalid parameters",
            "data": [
              {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                  {
                    "field": "message.parts",
                    "description": "At least one part is required"
                  }
                ]
              }
            ]
          }
        }
        """;

    /// <summary>Section 9.5, an A2A-specific error response (its metadata without the timestamp, which is the example's own).</summary>
    public const string TaskNotFoundError =
        """
        {
          "jsonrpc": "2.0",
          "id": 2,
          "error": {
            "code": -32001,
            "message": "Task not found",
            "data": [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "TASK_NOT_FOUND",
                "domain": "a2a-protocol.org",
                "metadata": {
                  "taskId": "nonexistent-task-id"
                }
              }
            ]
          }
        }
        """;
}
