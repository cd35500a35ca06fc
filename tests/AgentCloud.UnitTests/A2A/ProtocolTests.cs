using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.UnitTests.A2A;

/// <summary>The A2A protocol types against the specification's own JSON examples.</summary>
public sealed class ProtocolTests
{
    [Fact]
    public void TheSpecsSampleAgentCardRoundTripsThroughTheTypes()
    {
        var card = JsonSerializer.Deserialize<AgentCard>(SpecVectors.SampleAgentCard, A2AJson.Options)!;

        Assert.Equal("GeoSpatial Route Planner Agent", card.Name);
        Assert.Equal([ProtocolBindings.JsonRpc, ProtocolBindings.Grpc, ProtocolBindings.HttpJson],
            card.SupportedInterfaces.Select(i => i.ProtocolBinding));
        Assert.True(card.Capabilities.Streaming);
        Assert.Equal("https://accounts.google.com/.well-known/openid-configuration",
            card.SecuritySchemes!["google"].OpenIdConnectSecurityScheme!.OpenIdConnectUrl);
        Assert.Equal(["openid", "profile", "email"], card.SecurityRequirements![0].Schemes["google"].List);
        Assert.Equal(2, card.Skills.Count);
        AssertSameJson(SpecVectors.SampleAgentCard, JsonSerializer.Serialize(card, A2AJson.Options));
    }

    [Fact]
    public void TheSpecsBasicExchangeRoundTrips()
    {
        var request = JsonSerializer.Deserialize<SendMessageRequest>(SpecVectors.BasicSendRequest, A2AJson.Options)!;
        Assert.Equal(Roles.User, request.Message!.Role);
        Assert.Equal("What is the weather today?", request.Message.Parts[0].Text);
        AssertSameJson(SpecVectors.BasicSendRequest, JsonSerializer.Serialize(request, A2AJson.Options));

        var response = JsonSerializer.Deserialize<SendMessageResponse>(SpecVectors.BasicSendResponse, A2AJson.Options)!;
        Assert.Equal(TaskStates.Completed, response.Task!.Status.State);
        Assert.Equal("Today will be sunny with a high of 75°F", response.Task.Artifacts![0].Parts[0].Text);
        AssertSameJson(SpecVectors.BasicSendResponse, JsonSerializer.Serialize(response, A2AJson.Options));
    }

    [Fact]
    public void TheSpecsStreamingEventsEachSetOneMember()
    {
        var events = SpecVectors.StreamingEvents.Select(e => JsonSerializer.Deserialize<StreamResponse>(e, A2AJson.Options)!).ToList();

        Assert.Equal(TaskStates.Working, events[0].Task!.Status.State);
        Assert.Equal("# Climate Change Report\n\n", events[1].ArtifactUpdate!.Artifact.Parts[0].Text);
        Assert.Equal(TaskStates.Completed, events[2].StatusUpdate!.Status.State);
        Assert.All(events, e => Assert.Equal(1, new object?[] { e.Task, e.Message, e.StatusUpdate,
            e.ArtifactUpdate }.Count(m => m is not null)));
        AssertSameJson(SpecVectors.StreamingEvents[2], JsonSerializer.Serialize(events[2], A2AJson.Options));
    }

    [Fact]
    public void AMessageKeepsItsExtensionsAndMetadata()
    {
        var message = JsonSerializer.Deserialize<Message>(SpecVectors.MessageWithExtension, A2AJson.Options)!;

        Assert.Equal(["https://example.com/extensions/geolocation/v1"], message.Extensions);
        AssertSameJson(SpecVectors.MessageWithExtension, JsonSerializer.Serialize(message, A2AJson.Options));
        Assert.Equal("Find restaurants near me", Tasks.Payload(message)!.GetValue<string>());
    }

    [Fact]
    public void TheSpecsRequestParamsParseIntoTheirTypes()
    {
        var get = Params<GetTaskRequest>(SpecVectors.GetTaskRequest);
        Assert.Equal(("task-uuid", 10), (get.Id, get.HistoryLength));
        var list = Params<ListTasksRequest>(SpecVectors.ListTasksRequest);
        Assert.Equal(("context-uuid", TaskStates.Working, 50, "cursor-token"),
            (list.ContextId, list.Status, list.PageSize, list.PageToken));
        Assert.Equal("task-uuid", Params<CancelTaskRequest>(SpecVectors.CancelTaskRequest).Id);
        Assert.Equal(A2AMethods.GetTask, A2AMethods.Canonical("tasks/get"));
        Assert.Equal(A2AMethods.SubscribeToTask, A2AMethods.Canonical("tasks/resubscribe"));
        Assert.Equal(A2AMethods.SendStreamingMessage, A2AMethods.Canonical("message/stream"));
    }

    [Fact]
    public void ErrorsHaveTheShapeOfTheSpecsExamples()
    {
        var invalid = JsonRpcException.InvalidParams("message.parts", "At least one part is required");
        AssertSameJson(SpecVectors.InvalidParamsError,
            JsonRpcMessages.Error(JsonValue.Create(1), invalid.Code, invalid.Message, invalid.Details).ToJsonString());

        var notFound = JsonRpcException.Info(JsonRpcErrorCodes.TaskNotFound, "Task not found", "TASK_NOT_FOUND",
            new JsonObject { ["taskId"] = "nonexistent-task-id" });
        AssertSameJson(SpecVectors.TaskNotFoundError,
            JsonRpcMessages.Error(JsonValue.Create(2), notFound.Code, notFound.Message, notFound.Details).ToJsonString());
    }

    [Theory]
    [InlineData(MessageStatus.Queued, TaskStates.Submitted)]
    [InlineData(MessageStatus.Processing, TaskStates.Working)]
    [InlineData(MessageStatus.Failed, TaskStates.Working)]
    [InlineData(MessageStatus.Done, TaskStates.Completed)]
    [InlineData(MessageStatus.Dead, TaskStates.Failed)]
    [InlineData(MessageStatus.Canceled, TaskStates.Canceled)]
    public void EachMessageStatusIsATaskState(string status, string state)
    {
        Assert.Equal(state, Tasks.State(status));
        Assert.Contains(status, Tasks.Statuses(state)!);
    }

    [Fact]
    public void ADoneMessageIsACompletedTaskWithItsAnswer()
    {
        var row = new MessageRow
        {
            Id = Guid.NewGuid(), Session = Guid.NewGuid(), Status = MessageStatus.Done, Payload = "\"hi\"", Reply = "{\"a\":1}",
            UpdatedAt = new DateTime(2026, 1, 2, 3, 4, 5, 678),
        };

        var task = Tasks.From(row);

        Assert.Equal(row.Id.ToString("D"), task.Id);
        Assert.Equal(row.Session.ToString("D"), task.ContextId);
        Assert.Equal("2026-01-02T03:04:05.678Z", task.Status.Timestamp);
        Assert.Equal("hi", task.History![0].Parts[0].Text);
        Assert.Equal(Roles.Agent, task.History[1].Role);
        Assert.Equal(1, task.Artifacts![0].Parts[0].Data!["a"]!.GetValue<int>());
    }

    private static T Params<T>(string request) =>
        JsonNode.Parse(request)!["params"]!.Deserialize<T>(A2AJson.Options)!;

    private static void AssertSameJson(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"Expected\n{expected}\nbut got\n{actual}");
}
