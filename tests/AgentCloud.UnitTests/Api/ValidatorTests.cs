using System.Text.Json;
using AgentCloud.Shared.Messaging.Behaviors;
using FluentValidation.TestHelper;
using AgentCreate = AgentCloud.Api.Features.Agents.Create;
using AgentUpdate = AgentCloud.Api.Features.Agents.Update;
using LogList = AgentCloud.Api.Features.Logs.List;
using Signup = AgentCloud.Api.Features.Auth.Signup;

namespace AgentCloud.UnitTests.Api;

public sealed class SignupValidatorTests
{
    private readonly Signup.Request.Validator validator = new();

    private static Signup.Request Valid(string username = "alice_01", string email = "alice@example.com", string password = "long enough")
        =>
        new() { Username = username, Email = email, Password = password };

    [Fact]
    public void AGoodSignupPasses() => validator.TestValidate(Valid()).ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData("ab")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("")]
    public void ABadUsernameIsNamed(string username) =>
        validator.TestValidate(Valid(username: username)).ShouldHaveValidationErrorFor(r => r.Username);

    [Fact]
    public void AUsernameOf51CharactersIsTooLong() =>
        validator.TestValidate(Valid(username: new string('a', 51))).ShouldHaveValidationErrorFor(r => r.Username);

    [Theory]
    [InlineData("a.b-c_d")]
    [InlineData("abc")]
    public void UsernamesMayUseLettersDigitsDotsDashesAndUnderscores(string username) =>
        validator.TestValidate(Valid(username: username)).ShouldNotHaveValidationErrorFor(r => r.Username);

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("two@@example.com")]
    [InlineData("a@b@example.com")]
    [InlineData("no spaces@example.com")]
    [InlineData("nodot@localhost")]
    [InlineData("@example.com")]
    [InlineData("trailing@example.")]
    public void ABadEmailIsNamed(string email) =>
        validator.TestValidate(Valid(email: email)).ShouldHaveValidationErrorFor(r => r.Email);

    [Theory]
    [InlineData("ali\u200Bce@example.com")]
    [InlineData("alice@exa\u202Emple.com")]
    public void AnEmailWithAnInvisibleCharacterIsNamed(string email) =>
        validator.TestValidate(Valid(email: email)).ShouldHaveValidationErrorFor(r => r.Email)
            .WithErrorMessage("email must not contain invisible or control characters.");

    [Fact]
    public void AnEmailOver100CharactersIsTooLong() =>
        validator.TestValidate(Valid(email: new string('e', 95) + "@x.com")).ShouldHaveValidationErrorFor(r => r.Email);

    [Theory]
    [InlineData(7)]
    [InlineData(129)]
    public void APasswordOutside8To128CharactersIsRefused(int length) =>
        validator.TestValidate(Valid(password: new string('p', length))).ShouldHaveValidationErrorFor(r => r.Password);

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    public void APasswordOf8To128CharactersIsAccepted(int length) =>
        validator.TestValidate(Valid(password: new string('p', length))).ShouldNotHaveValidationErrorFor(r => r.Password);
}

public sealed class AgentValidatorTests
{
    private static readonly AgentBehaviors Behaviors = new([new DefaultBehavior(), new EchoBehavior(), new ForwardBehavior()]);

    private readonly AgentCreate.Request.Validator create = new(Behaviors);
    private readonly AgentUpdate.Request.Validator update = new(Behaviors);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void ANamedAgentWithoutConfigPasses() =>
        create.TestValidate(new AgentCreate.Request { Name = "weather bot" }).ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("bell\u0007")]
    [InlineData("new\nline")]
    public void AMissingBlankOrControlCharacterNameIsRefused(string? name) =>
        create.TestValidate(new AgentCreate.Request { Name = name }).ShouldHaveValidationErrorFor(r => r.Name);

    [Fact]
    public void ANameOver100CharactersIsRefused() =>
        create.TestValidate(new AgentCreate.Request { Name = new string('n', 101) }).ShouldHaveValidationErrorFor(r => r.Name);

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("\"text\"")]
    [InlineData("5")]
    [InlineData("null")]
    public void AConfigThatIsNotAnObjectIsRefused(string config) =>
        create.TestValidate(new AgentCreate.Request { Name = "ok", Config = Json(config) }).ShouldHaveValidationErrorFor(r => r.Config);

    [Fact]
    public void AConfigOver32KiBIsRefused() =>
        create.TestValidate(new AgentCreate.Request { Name = "ok", Config = Json($"{{\"k\": \"{new string('v', 33_000)}\"}}") })
            .ShouldHaveValidationErrorFor(r => r.Config);

    [Fact]
    public void ANestedObjectConfigPasses() =>
        create.TestValidate(new AgentCreate.Request { Name = "ok", Config = Json("{\"behavior\": \"echo\", \"depth\": [1, 2]}") })
            .ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData("{\"behavior\": \"teleport\"}")]
    [InlineData("{\"behavior\": 5}")]
    [InlineData("{\"behavior\": \"forward\"}")]
    [InlineData("{\"behavior\": \"forward\", \"target\": \"agent1nope\"}")]
    public void AConfigWithAnUnknownBehaviourOrMissingFieldsIsRefused(string config) =>
        create.TestValidate(new AgentCreate.Request { Name = "ok", Config = Json(config) }).ShouldHaveValidationErrorFor(r => r.Config);

    [Theory]
    [InlineData("{\"behavior\": \"echo\"}")]
    [InlineData("{\"behavior\": \"forward\", \"target\": \"agent://agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7\"}")]
    [InlineData("{\"other\": 1}")]
    public void AConfigOfAKnownBehaviourPasses(string config) =>
        create.TestValidate(new AgentCreate.Request { Name = "ok", Config = Json(config) }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void AnUpdateToABadBehaviourIsRefused() =>
        update.TestValidate(new AgentUpdate.Request { AgentId = 1, Config = Json("{\"behavior\": \"teleport\"}") })
            .ShouldHaveValidationErrorFor(r => r.Config);

    [Fact]
    public void AnUpdateNeedsANameOrAConfig() =>
        Assert.False(update.Validate(new AgentUpdate.Request { AgentId = 1 }).IsValid);

    [Fact]
    public void AnUpdateOfTheConfigAlonePasses() =>
        update.TestValidate(new AgentUpdate.Request { AgentId = 1, Config = Json("{\"v\": 2}") }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void AnUpdateToABlankNameIsRefused() =>
        update.TestValidate(new AgentUpdate.Request { AgentId = 1, Name = "" }).ShouldHaveValidationErrorFor(r => r.Name);
}

public sealed class LogQueryTests
{
    [Theory]
    [InlineData("2026-01-01T12:03:00Z", "2026-01-01T12:03:00")]
    [InlineData("2026-01-01T14:03:00+02:00", "2026-01-01T12:03:00")]
    [InlineData("2026-01-01T14:03:00 02:00", "2026-01-01T12:03:00")]
    [InlineData("2026-01-01T12:03:00", "2026-01-01T12:03:00")]
    [InlineData("2026-01-01", "2026-01-01T00:00:00")]
    public void TimesAreReadAsIso8601AndTurnedIntoUtc(string text, string expectedUtc)
    {
        var parsed = LogList.Request.ParseInstant(text);

        Assert.Equal(DateTime.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture), parsed);
        Assert.Equal(DateTimeKind.Unspecified, parsed!.Value.Kind);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-13-45")]
    [InlineData("1/2/2026")]
    [InlineData("")]
    public void AnythingElseIsNotATime(string text) => Assert.Null(LogList.Request.ParseInstant(text));

    [Theory]
    [InlineData("error", "ERROR")]
    [InlineData("Warning", "WARNING")]
    [InlineData("LOUD", null)]
    public void LevelsAreMatchedWhateverTheirCase(string level, string? expected) =>
        Assert.Equal(expected, LogList.Request.NormalLevel(level));
}
