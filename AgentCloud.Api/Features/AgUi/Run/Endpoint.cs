using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Features.Approvals;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using FastEndpoints;

namespace AgentCloud.Api.Features.AgUi.Run;

/// <summary>
/// AG-UI 1.0 (what @ag-ui/client's HttpAgent posts): a RunAgentInput in, the run's AG-UI events out. The thread is the agent's
/// session and the last user message is what it is sent, through the same send as every door; a run whose <c>resume</c> answers
/// the approval interrupt of the thread's last run decides it as REST's POST …/approvals/{approval_id} does and streams the
/// resumed run. Errors before the stream are problem details; once it started, RUN_ERROR.
/// </summary>
public sealed class Endpoint(MessageStore messages, ApprovalStore approvals, AgUiEventStream stream, HeldStreams streams)
    : Endpoint<Request>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/ag-ui");
        Policies(ApiScopes.MessagesSend);
        Summary(s =>
        {
            s.Summary = "AG-UI: run the agent (RunAgentInput in, AG-UI events out as server-sent events)";
            s.Description =
                "threadId is the agent's session (a UUID as it is; another string names a session of its own); the last message, " +
                "the user's, is sent. text/event-stream of AG-UI 1.0 events: RUN_STARTED, TEXT_MESSAGE_START/CONTENT/END, " +
                "TOOL_CALL_START/ARGS/END and TOOL_CALL_RESULT for the tools the agent called, STEP_STARTED/FINISHED per stored step, " +
                "then RUN_FINISHED or RUN_ERROR. A call that needs a person's approval ends the run with RUN_FINISHED's interrupt " +
                "outcome (the interrupt id is the approval id); the next run on the thread answers it in resume: [{interruptId, " +
                "status: resolved, payload: {decision: approve | deny, arguments?, reason?}}] (or status cancelled: a denial), which " +
                "needs approvals:write, and streams the resumed run. state, context, tools and forwardedProps are not used.";
            s.Responses[200] = "The run's AG-UI events (text/event-stream).";
            s.Responses[400] = "Not a RunAgentInput this door takes (no user message last, a bad resume entry).";
            s.Responses[403] = "The API key lacks messages:send (approvals:write to resume), or a standing quota is reached.";
            s.Responses[404] = "No such agent of the caller, or no such interrupt on this thread.";
            s.Responses[409] = "The interrupt was answered already, expired, or its run is over.";
            s.Responses[429] = "A quota (messages_per_day, queued_messages_per_agent) is reached: see Retry-After.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        // Every answer is a stream: its slot is taken before anything is stored or decided (a refusal, 429, changes nothing).
        using var slot = streams.Hold(User.UserId());
        var session = AgUiInput.Session(User.UserId(), request.ThreadId!);
        if (request.Resumes)
        {
            await ResumeAsync(request, AgUiInput.Answers(request.Resume).Answers!, session, ct);
            return;
        }

        var sent = await messages.SendToAgentAsync(User.UserId(), request.AgentId, AgUiInput.Text(request.Messages).Payload!, session,
            MessageRules.CurrentTraceparent(), idempotencyKey: null, ct);
        if (sent.Message is not { } message)
        {
            await Send.ResultAsync(AgentProblems.NotFound()); // deleted meanwhile
            return;
        }

        await stream.WriteAsync(HttpContext, new AgUiRun(request.ThreadId!, request.RunId!, message), ct);
    }

    private async Task ResumeAsync(Request request, IReadOnlyList<ApprovalAnswer> answers, Guid session, CancellationToken ct)
    {
        // Approving is not sending: a chat front end's key should not approve what the agent does with its messages.
        if (!User.HasScope(ApiScopes.ApprovalsWrite))
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status403Forbidden,
                $"This API key lacks the scope '{ApiScopes.ApprovalsWrite}' (a resume decides approvals)."));
            return;
        }

        // Every answer is checked before any is decided, so a resume that cannot stand changes nothing.
        var asked = new List<ApprovalRow>();
        foreach (var answer in answers)
        {
            if (await approvals.GetAsync(request.AgentId, answer.ApprovalId, ct) is not { } approval || approval.Session != session)
            {
                await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status404NotFound,
                    $"This thread has no interrupt '{answer.ApprovalId:D}'."));
                return;
            }

            if (approval.Decision is not null || MessageStatus.IsFinal(approval.MessageStatus))
            {
                await Send.ResultAsync(ApprovalProblems.AlreadyDecided(approval));
                return;
            }

            asked.Add(approval);
        }

        if (asked.DistinctBy(a => a.MessageId).Count() > 1)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status400BadRequest,
                "A resume answers the interrupts of one run: these belong to several."));
            return;
        }

        long? after = null;
        foreach (var answer in answers)
        {
            var (outcome, row, decidedEvent) = await approvals.DecideAsync(request.AgentId, answer.ApprovalId, answer.Approve,
                answer.Arguments, answer.Reason, Approvals.Decide.Endpoint.Decider(User, Approvals.Decide.ApprovalDoors.AgUi), ct);
            if (outcome != DecideOutcome.Decided)
            {
                // Decided or expired meanwhile (by another door, or its clock).
                await Send.ResultAsync(outcome == DecideOutcome.AlreadyDecided ? ApprovalProblems.AlreadyDecided(row!)
                    : ApprovalProblems.NotFound());
                return;
            }

            after = Math.Max(after ?? 0, decidedEvent ?? 0);
        }

        if (await messages.FindAsync(request.AgentId, asked[0].MessageId, ct) is not { } message)
        {
            await Send.ResultAsync(AgentProblems.NotFound()); // deleted meanwhile
            return;
        }

        var decided = (await approvals.OfMessageAsync(request.AgentId, message.Id, ct)).Where(a => a.Decision is not null);
        await stream.WriteAsync(HttpContext, new AgUiRun(request.ThreadId!, request.RunId!, message, after,
            [.. decided.Select(a => a.Id.ToString("D"))]), ct);
    }
}
