using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

// The floor the API is measured against: ASP.NET Core with the same bearer validation (secret, issuer,
// audience, the user-exists query in OnTokenValidated) and the same SQL as the API's handlers, through
// plain Npgsql. No FastEndpoints, validation, Dapper, rate limiting, problem details or telemetry.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();

var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(builder.Configuration["JWT_SECRET_KEY"]
    ?? throw new InvalidOperationException("JWT_SECRET_KEY is required.")));
var connectionString = new NpgsqlConnectionStringBuilder(builder.Configuration.GetConnectionString("agentsdb")
    ?? throw new InvalidOperationException("ConnectionStrings__agentsdb is required.")) { Timezone = "UTC" }.ConnectionString;
var dataSource = NpgsqlDataSource.Create(connectionString);
builder.Services.AddSingleton(dataSource);

builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
{
    options.MapInboundClaims = false;
    options.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = builder.Configuration["Jwt:Issuer"] ?? "agentcloud",
        ValidAudience = builder.Configuration["Jwt:Audience"] ?? "agentcloud-api",
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        ValidateIssuerSigningKey = true,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        NameClaimType = JwtRegisteredClaimNames.Sub,
    };
    options.Events = new JwtBearerEvents
    {
        OnTokenValidated = async context =>
        {
            var id = UserId(context.Principal!);
            await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM users WHERE id = @id)");
            command.Parameters.AddWithValue("id", id);
            if (!(bool)(await command.ExecuteScalarAsync(context.HttpContext.RequestAborted))!)
            {
                context.Fail("The token's user no longer exists.");
            }
        },
    };
});
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/health", () => Results.Ok(new { status = "healthy" }));

app.MapGet("/users/me", async (ClaimsPrincipal user, CancellationToken ct) =>
{
    await using var command = dataSource.CreateCommand("SELECT id, username, email, created_at, updated_at FROM users WHERE id = @id");
    command.Parameters.AddWithValue("id", UserId(user));
    await using var reader = await command.ExecuteReaderAsync(ct);
    if (!await reader.ReadAsync(ct))
    {
        return Results.Unauthorized();
    }

    return Results.Json(new
    {
        id = reader.GetInt32(0),
        username = reader.GetString(1),
        email = reader.GetString(2),
        created_at = reader.IsDBNull(3) ? (DateTime?)null : DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc),
        updated_at = reader.IsDBNull(4) ? (DateTime?)null : DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc),
    });
}).RequireAuthorization();

app.MapGet("/agents/{agentId:int}/logs", async (int agentId, string? limit, string? cursor, ClaimsPrincipal user, CancellationToken ct) =>
{
    var take = (limit is null ? 100 : int.Parse(limit, CultureInfo.InvariantCulture)) + 1;
    await using var connection = await dataSource.OpenConnectionAsync(ct);
    await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM agents WHERE id = @id AND user_id = @userId)", connection))
    {
        exists.Parameters.AddWithValue("id", agentId);
        exists.Parameters.AddWithValue("userId", UserId(user));
        if (!(bool)(await exists.ExecuteScalarAsync(ct))!)
        {
            return Results.NotFound();
        }
    }

    // The API's SQL for these parameters, byte for byte.
    var after = ReadCursor(cursor);
    var conditions = "agent_id = @AgentId AND timestamp IS NOT NULL"
        + (after is null ? "" : " AND (timestamp, id) < (@AfterTimestamp, @AfterId)");
    await using var query = new NpgsqlCommand(
        $"""
        SELECT id, agent_id, log_level, message, timestamp
        FROM agent_logs
        WHERE {conditions}
        ORDER BY timestamp DESC, id DESC
        LIMIT @Take
        """, connection);
    query.Parameters.AddWithValue("AgentId", agentId);
    query.Parameters.AddWithValue("Take", take);
    if (after is { } a)
    {
        query.Parameters.AddWithValue("AfterTimestamp", a.Timestamp);
        query.Parameters.AddWithValue("AfterId", a.Id);
    }

    var items = new List<object>(take);
    DateTime lastTimestamp = default;
    var lastId = 0;
    await using (var reader = await query.ExecuteReaderAsync(ct))
    {
        while (await reader.ReadAsync(ct))
        {
            if (items.Count == take - 1)
            {
                break;
            }

            lastId = reader.GetInt32(0);
            lastTimestamp = reader.GetDateTime(4);
            items.Add(new
            {
                id = lastId,
                agent_id = reader.GetInt32(1),
                log_level = reader.IsDBNull(2) ? null : reader.GetString(2),
                message = reader.IsDBNull(3) ? null : reader.GetString(3),
                timestamp = DateTime.SpecifyKind(lastTimestamp, DateTimeKind.Utc),
            });
        }
    }

    var next = items.Count == take - 1
        ? Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"logs.v1|{lastTimestamp.Ticks}|{lastId}")))
        : null;
    return Results.Json(new { items, next_cursor = next });
}).RequireAuthorization();

app.Run();

static int UserId(ClaimsPrincipal user) =>
    int.Parse(user.FindFirstValue(JwtRegisteredClaimNames.Sub)!, NumberStyles.None, CultureInfo.InvariantCulture);

static (DateTime Timestamp, int Id)? ReadCursor(string? cursor)
{
    if (cursor is null)
    {
        return null;
    }

    var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('|');
    return (new DateTime(long.Parse(parts[1], CultureInfo.InvariantCulture), DateTimeKind.Unspecified),
        int.Parse(parts[2], CultureInfo.InvariantCulture));
}
