using FastEndpoints.Swagger;
using NSwag;

namespace AgentCloud.Api.Infrastructure;

public static class OpenApi
{
    /// <summary>
    /// The OpenAPI document (Development only), with an OAuth2 password flow against <c>/login</c> so the
    /// Swagger UI's Authorize button logs in with a username and password, as FastAPI's did.
    /// </summary>
    public static WebApplicationBuilder AddOpenApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.SwaggerDocument(options =>
        {
            options.EnableJWTBearerAuth = false;
            options.ShortSchemaNames = false;
            options.DocumentSettings = settings =>
            {
                settings.DocumentName = "v1";
                settings.Title = "AgentCloud API";
                settings.Version = "v1";
                // Request bases (PagedRequest) are a way of writing the code, not part of the API: each schema stands alone.
                settings.SchemaSettings.FlattenInheritanceHierarchy = true;
                settings.OperationProcessors.Add(new ProblemResponsesProcessor());
                settings.AddAuth("OAuth2PasswordBearer", new OpenApiSecurityScheme
                {
                    Type = OpenApiSecuritySchemeType.OAuth2,
                    Description = "Log in with a username and password; the token from /login is sent as a bearer token.",
                    Flows = new OpenApiOAuthFlows
                    {
                        Password = new OpenApiOAuthFlow { TokenUrl = "/login", Scopes = new Dictionary<string, string>() },
                    },
                });
            };
        });
        return builder;
    }
}
