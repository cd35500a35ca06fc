using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.ApiKeys;

public sealed class ApiKeyRow
{
    public int Id { get; init; }
    public int UserId { get; init; }
    public string Name { get; init; } = "";
    public string KeyPrefix { get; init; } = "";
    public string[] Scopes { get; init; } = [];
    public int[]? AgentIds { get; init; }
    public DateTime? ExpiresAt { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>
/// API keys: <c>ak_</c> and 43 base64url characters (256 random bits). Only the SHA-256 of a key is
/// stored; a key is shown once, when it is made.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource)
{
    public const string KeyPrefix = "ak_";
    private const string Columns = "id, user_id, name, key_prefix, scopes, agent_ids, expires_at, created_at";
    private const string Now = "(now() AT TIME ZONE 'utc')";

    public static string NewKey() => KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Whether <paramref name="value"/> is shaped like a key at all (anything else is not looked up).</summary>
    public static bool LooksLikeKey(string? value) =>
        value is { Length: 46 } && value.StartsWith(KeyPrefix, StringComparison.Ordinal)
        && value.AsSpan(3).IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") < 0;

    public async Task<ApiKeyRow> CreateAsync(int userId, string name, string key, IReadOnlyList<string> scopes, int[]? agentIds,
        DateTime? expiresAtUtc, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<ApiKeyRow>(new CommandDefinition(
            $"""
            INSERT INTO api_keys (user_id, name, key_hash, key_prefix, scopes, agent_ids, expires_at)
            VALUES (@userId, @name, @hash, @prefix, @scopes, @agentIds, @expires)
            RETURNING {Columns}
            """,
            new
            {
                userId, name, hash = Hash(key), prefix = key[..11], scopes = scopes.ToArray(), agentIds,
                expires = expiresAtUtc is { } e ? DateTime.SpecifyKind(e, DateTimeKind.Unspecified) : (DateTime?)null,
            },
            cancellationToken: cancellationToken));
    }

    /// <summary>The live (unexpired) key with this value, if any.</summary>
    public async Task<ApiKeyRow?> FindLiveAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys WHERE key_hash = @hash AND (expires_at IS NULL OR expires_at > {Now})",
            new { hash = Hash(key) }, cancellationToken: cancellationToken));
    }

    public async Task<bool> IsLiveAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            $"SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = @id AND (expires_at IS NULL OR expires_at > {Now}))",
            new { id }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<ApiKeyRow>> ListAsync(int userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ApiKeyRow>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys WHERE user_id = @userId ORDER BY id", new { userId },
            cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>False when the caller has no such key.</summary>
    public async Task<bool> DeleteAsync(int userId, int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM api_keys WHERE id = @id AND user_id = @userId", new { id, userId }, cancellationToken: cancellationToken)) > 0;
    }

    /// <summary>The ids among <paramref name="agentIds"/> that are not the user's agents.</summary>
    public async Task<IReadOnlyList<int>> NotOwnedAsync(int userId, int[] agentIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<int>(new CommandDefinition(
            "SELECT id FROM unnest(@agentIds) AS wanted(id) WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = wanted.id AND " +
            "a.user_id = @userId)",
            new { userId, agentIds }, cancellationToken: cancellationToken))).AsList();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
