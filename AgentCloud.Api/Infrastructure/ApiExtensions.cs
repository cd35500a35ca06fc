using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Features.Auth;
using AgentCloud.Api.Features.Callbacks;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Logs;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Shared.Quotas;
using AgentCloud.Api.Features.Users;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;
using FastEndpoints;
using FastEndpoints.Swagger;
using FluentValidation.Results;

namespace AgentCloud.Api.Infrastructure;

public static class ApiExtensions
{
    /// <summary>Everything the API adds to the host: limits, errors, auth, rate limits, endpoints, their stores and the notification
    /// listener.</summary>
    public static WebApplicationBuilder AddApi(this WebApplicationBuilder builder)
    {
        builder.AddRequestBodyLimit();
        builder.AddProblemResponses();
        builder.AddJwtAuthentication();
        builder.AddAuthRateLimits();
        builder.AddForwardedClientAddresses();

        builder.Services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));
        builder.Services.AddFastEndpoints();
        if (builder.Environment.IsDevelopment())
        {
            builder.AddOpenApiDocument();
        }

        QuotaChecks.AddQuotas(builder);
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<PasswordHashing>();
        builder.Services.AddSingleton<UserStore>();
        builder.Services.AddSingleton<AgentStore>();
        builder.Services.AddSingleton<LogStore>();
        builder.Services.AddSingleton<LogFollower>();
        builder.Services.AddSingleton<MessageStore>();
        builder.Services.AddSingleton<Features.Schedules.ScheduleStore>();
        builder.Services.AddSingleton<Features.Approvals.ApprovalStore>();
        builder.Services.AddSingleton<Features.Runs.RunStore>();
        builder.Services.AddSingleton<MessageWaiter>();
        builder.Services.AddSingleton<Features.Webhooks.WebhookStore>();
        builder.AddCallbacks();
        builder.AddDoors();
        builder.AddNotificationHub(NotifyChannels.AgentLogs, RunEvents.Channel);
        builder.Services.AddAgentBehaviors(builder.Configuration);
        builder.AddUAgents();
        return builder;
    }

    public static WebApplication UseApi(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestBodyLimit();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAgentRestrictions();
        app.UseRateLimiter();
        app.UseJsonTextCheck();
        app.UseFastEndpoints(config =>
        {
            ConfigureJson(config.Serializer.Options);
            config.Errors.ResponseBuilder = ProblemResponses.ValidationProblem;
            config.Errors.ProducesMetadataType = typeof(ApiProblem);
            config.Errors.ContentType = "application/problem+json";
            config.Binding.JsonExceptionTransformer = DescribeJsonError;
            config.Endpoints.Configurator = endpoint => endpoint.PreProcessor<AgentOwnership>(Order.Before);
        });
        app.MapDoors();
        if (app.Environment.IsDevelopment())
        {
            app.UseSwaggerGen();
        }

        return app;
    }

    /// <summary>Names the offending field without echoing .NET type names back to the client.</summary>
    private static ValidationFailure DescribeJsonError(JsonException exception)
    {
        var field = exception.Path is { Length: > 2 } path ? path[2..] : "body";
        var reason = exception.Message.Contains("could not be mapped", StringComparison.Ordinal)
            ? $"Unknown field '{field}'."
            : "Not valid JSON, or a value of the wrong type.";
        return new ValidationFailure(field, reason);
    }

    /// <summary>
    /// snake_case like the original FastAPI backend, and strict: a field the API does not know is an
    /// error rather than silently dropped (a typo in "config" must not look like success).
    /// </summary>
    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.AllowDuplicateProperties = false;
    }
}
