using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FastEndpoints;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Namotion.Reflection;
using Newtonsoft.Json.Linq;
using NJsonSchema;
using NSwag;
using NSwag.Generation.AspNetCore;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// Makes every operation in the OpenAPI document list what the route can really answer, so routes added
/// later are covered without anyone remembering to: the success statuses its summary names (201, 202…)
/// instead of a default 200, each 4xx/5xx its summary names, and the problems the pipeline itself can
/// answer for any route of its kind. Every problem answer has the <see cref="ApiProblem"/> schema and an
/// example.
/// </summary>
internal sealed class ProblemResponsesProcessor : IOperationProcessor
{
    public bool Process(OperationProcessorContext context)
    {
        if (context is not AspNetCoreOperationProcessorContext { ApiDescription: { } api })
        {
            return true;
        }

        var metadata = api.ActionDescriptor.EndpointMetadata;
        var definition = metadata.OfType<EndpointDefinition>().FirstOrDefault();
        var summary = definition?.EndpointSummary;
        var operation = context.OperationDescription.Operation;
        var responses = operation.Responses;
        var path = context.OperationDescription.Path;
        var method = context.OperationDescription.Method.ToUpperInvariant();

        var declared = summary?.Responses.Keys.ToHashSet() ?? [];
        var successes = declared.Where(IsSuccess).ToList();
        if (successes.Count > 0)
        {
            // The summary says which 2xx the route sends: the default one FastEndpoints assumed goes unless named.
            var template = responses.Where(r => IsSuccess(int.Parse(r.Key, CultureInfo.InvariantCulture))).Select(r => r.Value)
                .FirstOrDefault();
            foreach (var code in responses.Keys.Where(k => IsSuccess(int.Parse(k, CultureInfo.InvariantCulture))).ToList())
            {
                if (!successes.Contains(int.Parse(code, CultureInfo.InvariantCulture)))
                {
                    responses.Remove(code);
                }
            }

            foreach (var status in successes)
            {
                var key = Key(status);
                if (!responses.ContainsKey(key))
                {
                    responses[key] = CopyOf(template, status);
                }
            }
        }

        var problems = new SortedSet<int>(declared.Where(s => s >= 400));
        var hasRequest = definition?.ReqDtoType is { } requestType && requestType != typeof(EmptyRequest);
        if (hasRequest)
        {
            problems.Add(StatusCodes.Status400BadRequest); // binding and validation failures
        }

        if (!metadata.OfType<IAllowAnonymous>().Any())
        {
            problems.Add(StatusCodes.Status401Unauthorized);
        }

        if (path.Contains('{', StringComparison.Ordinal))
        {
            problems.Add(StatusCodes.Status404NotFound); // the resource the route names may not be the caller's
        }

        if (method is "POST" or "PUT" or "PATCH")
        {
            problems.Add(StatusCodes.Status413PayloadTooLarge); // the request body limit
            if (hasRequest)
            {
                problems.Add(StatusCodes.Status415UnsupportedMediaType); // a body that is not JSON (or a form, where accepted)
            }
        }

        if (responses.ContainsKey(Key(StatusCodes.Status403Forbidden)))
        {
            // FastEndpoints lists it for a route with a policy: a credential without its scope
            problems.Add(StatusCodes.Status403Forbidden);
        }

        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            problems.Add(StatusCodes.Status429TooManyRequests);
        }

        problems.Add(StatusCodes.Status503ServiceUnavailable); // the database does not answer

        JsonSchema? problemSchema = null;
        foreach (var status in problems)
        {
            var key = Key(status);
            if (responses.TryGetValue(key, out var existing) && existing.Content.Count > 0 && status != 400)
            {
                continue; // the endpoint declared its own body for this status (e.g. /health's 503)
            }

            problemSchema ??= context.SchemaGenerator.GenerateWithReference<JsonSchema>(
                typeof(ApiProblem).ToContextualType(), context.SchemaResolver);
            var response = existing ?? new OpenApiResponse();
            if (string.IsNullOrEmpty(response.Description))
            {
                response.Description = summary?.Responses.GetValueOrDefault(status) ?? DescriptionOf(status);
            }

            response.Content.Clear();
            response.Content["application/problem+json"] = new OpenApiMediaType
            {
                Schema = problemSchema,
                Example = Example(status, path, summary?.Responses.GetValueOrDefault(status), FirstFieldOf(definition?.ReqDtoType)),
            };
            responses[key] = response;
        }

        if (summary is not null)
        {
            foreach (var (status, description) in summary.Responses)
            {
                if (responses.TryGetValue(Key(status), out var response) && string.IsNullOrEmpty(response.Description))
                {
                    response.Description = description;
                }
            }

            // FastEndpoints places examples only on the responses it generated itself, written by the document's
            // serializer (no snake_case, no JsonElement): write them all as the API would.
            foreach (var (status, example) in summary.ResponseExamples)
            {
                if (responses.TryGetValue(Key(status), out var response))
                {
                    foreach (var media in response.Content.Values)
                    {
                        media.Example = AsDocumentJson(example);
                    }
                }
            }

            if (summary.ExampleRequest is { } request && operation.RequestBody is { } body)
            {
                foreach (var media in body.Content.Values.Where(m => m.Example is null))
                {
                    media.Example = OnlyBodyFields(AsDocumentJson(request), media.Schema);
                    ReplaceSchemaExamples(media.Schema, (JToken)media.Example);
                }
            }
        }

        return true;
    }

    private static readonly JsonSerializerOptions ApiJson = CreateApiJson();

    private static JsonSerializerOptions CreateApiJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ApiExtensions.ConfigureJson(options);
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return options;
    }

    /// <summary>The example as the API would write it (snake_case), as the document's own JSON type.</summary>
    private static JToken AsDocumentJson(object example) => JToken.Parse(JsonSerializer.Serialize(example, example.GetType(), ApiJson));

    /// <summary>
    /// The example request without what is not sent in the body (route and query values, computed
    /// properties): the API refuses unknown fields, so the example must hold only real ones.
    /// </summary>
    private static JToken OnlyBodyFields(JToken example, JsonSchema? schema)
    {
        if (example is JObject body && schema?.ActualSchema.ActualProperties is { Count: > 0 } fields)
        {
            foreach (var property in body.Properties().Where(p => !fields.ContainsKey(p.Name)).ToList())
            {
                property.Remove();
            }
        }

        return example;
    }

    /// <summary>
    /// FastEndpoints also copies the example request onto the request's schema and its properties, written
    /// with the document's serializer, which knows neither snake_case nor JsonElement: put the API's JSON there.
    /// </summary>
    private static void ReplaceSchemaExamples(JsonSchema? schema, JToken example)
    {
        if (schema?.ActualSchema is not { } actual || example is not JObject body)
        {
            return;
        }

        actual.Example = body;
        foreach (var (name, property) in actual.ActualProperties)
        {
            property.Example = body.TryGetValue(name, out var value) ? value : null;
        }
    }

    /// <summary>A body field of the request, to name in the example of a 400.</summary>
    private static string FirstFieldOf(Type? requestType) =>
        requestType?.GetProperties()
            .Where(p => p.GetCustomAttributes(typeof(BindFromAttribute), true).Length == 0
                && p.GetCustomAttributes(typeof(QueryParamAttribute), true).Length == 0
                && p.CanWrite)
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name))
            .FirstOrDefault() ?? "limit";

    private static bool IsSuccess(int status) => status is >= 200 and < 300;

    private static string Key(int status) => status.ToString(CultureInfo.InvariantCulture);

    private static OpenApiResponse CopyOf(OpenApiResponse? template, int status)
    {
        var response = new OpenApiResponse { Description = DescriptionOf(status) };
        if (template is not null && status != StatusCodes.Status204NoContent)
        {
            foreach (var (type, media) in template.Content)
            {
                response.Content[type] = new OpenApiMediaType { Schema = media.Schema };
            }
        }

        return response;
    }

    private static string DescriptionOf(int status) => status switch
    {
        400 => "A field is missing or invalid (see errors), or the body is not valid JSON.",
        401 => "No valid bearer token.",
        403 => "The credential lacks what the route needs (an API key without its scope, a quota that is reached).",
        404 => "No such resource, or not the caller's.",
        413 => "The request body is over the limit.",
        415 => "The body is not of a media type the route accepts (JSON).",
        429 => "Too many requests from this client: see Retry-After.",
        503 => "The database does not answer right now: see Retry-After.",
        _ => ApiProblem.TitleFor(status),
    };

    private static object Example(int status, string path, string? description, string field) => new Dictionary<string, object>
    {
        ["type"] = ApiProblem.TypeFor(status),
        ["title"] = ApiProblem.TitleFor(status),
        ["status"] = status,
        ["detail"] = status == 400 ? ApiProblem.ValidationDetail : description ?? DescriptionOf(status),
        ["instance"] = path.Replace("{agent_id}", "2", StringComparison.Ordinal)
            .Replace("{message_id}", "0b7e2a1c-6f3d-4c3e-9a4e-3d2f1b0c9e8a", StringComparison.Ordinal),
        ["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736",
    }.Concat(status == 400
        ? [new KeyValuePair<string, object>("errors", new Dictionary<string, string[]> { [field] = [$"{field} is required."] })]
        : []).ToDictionary();
}
