/**
 * Audit rows for requests of a tenant's API key or signed-in person: reads of candidate data and decisions are
 * recorded with the key or the person as actor and the client's address as source. A read whose row cannot be written is refused (503), so
 * nothing is read off the record.
 */
import { Effect } from "effect"
import { AuditLog } from "../store/AuditLog.ts"
import type { Principal } from "../store/Tenants.ts"
import { ApiError } from "./ApiError.ts"

export const audit = (
  request: { readonly principal: Principal; readonly remote: string },
  action: string,
  subject: string,
  detail?: Record<string, unknown>
): Effect.Effect<void, ApiError, AuditLog> =>
  Effect.flatMap(AuditLog, (log) =>
    log.record({
      tenantId: request.principal.tenantId,
      actor: request.principal.actor,
      action,
      subject,
      source: request.remote,
      ...(detail === undefined ? {} : { detail })
    })
  ).pipe(Effect.mapError(() => ApiError.unavailable("audit log unavailable; retry shortly")))
