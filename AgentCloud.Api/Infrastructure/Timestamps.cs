namespace AgentCloud.Api.Infrastructure;

/// <summary>The schema's TIMESTAMP columns hold UTC wall time without a zone.</summary>
public static class Timestamps
{
    /// <summary>A value read from the database, marked UTC so it serializes with a <c>Z</c>.</summary>
    public static DateTime? AsUtc(this DateTime? value) => value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;

    public static DateTime AsUtc(this DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);

    /// <summary>A UTC instant as a parameter for a TIMESTAMP column (Npgsql refuses Kind Utc there).</summary>
    public static DateTime ForDatabase(this DateTimeOffset value) => DateTime.SpecifyKind(value.UtcDateTime, DateTimeKind.Unspecified);
}
