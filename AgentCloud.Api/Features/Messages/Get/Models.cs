using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages.Get;

public sealed class Request : IAgentRequest
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    [BindFrom("message_id")]
    public string? MessageId { get; init; }

    public Guid ParsedMessageId => Guid.Parse(MessageId!);

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.MessageId)
                .Must(id => Guid.TryParseExact(id, "D", out _))
                .WithMessage("message_id must be a UUID.");
        }
    }
}
