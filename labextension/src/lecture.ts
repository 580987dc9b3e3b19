/**
 * The host's lecture controls (`rtc:policy`, `rtc:mute_all`; docs/protocol.md), the pure
 * part: what a room's policy is from an ack or an event, whether a member may send its
 * camera and microphone, and where each tile goes in the lecture layout (the host's large,
 * the others in a strip). video-surface.ts applies them to the DOM.
 */

/** A room's video policy (protocol.generated.ts's `VideoPolicy`). */
export interface Policy {
  students_publish: boolean;
  lecture: boolean;
}

/** What a room without a policy (an older server, or one the host never set) means. */
export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({ students_publish: true, lecture: false });

/** Why a student's camera and microphone buttons are disabled (their tooltip). */
export const NOT_ALLOWED_MESSAGE = 'The host does not let students send their camera or microphone now.';

/** The policy in a join/attach ack (`video_policy`) or an `rtc:policy` event; defaults for the rest. */
export function readPolicy(source: unknown): Policy {
  const raw = (source ?? {}) as Partial<Record<keyof Policy, unknown>>;
  return {
    students_publish: typeof raw.students_publish === 'boolean' ? raw.students_publish : DEFAULT_POLICY.students_publish,
    lecture: typeof raw.lecture === 'boolean' ? raw.lecture : DEFAULT_POLICY.lecture
  };
}

/** Whether a member may send audio and video under `policy`: the host always may. */
export function mayPublishUnder(policy: Policy, isHost: boolean): boolean {
  return isHost || policy.students_publish;
}

/** Where a member's tile goes: `main` (the host's, large) or `strip` in the lecture layout, else `grid`. */
export type TileRole = 'main' | 'strip' | 'grid';

export function tileRole(memberId: string, hostId: string, policy: Policy): TileRole {
  if (!policy.lecture) {
    return 'grid';
  }
  return memberId !== '' && memberId === hostId ? 'main' : 'strip';
}

/**
 * Whether a member's tile shows: a member that may not publish sends nothing, so its tile
 * goes (the host's always shows).
 */
export function tileShown(memberId: string, hostId: string, policy: Policy): boolean {
  return mayPublishUnder(policy, memberId !== '' && memberId === hostId);
}

/** The request a host control sends: one field changed, the rest as they are. */
export function toggled(policy: Policy, field: keyof Policy): Partial<Policy> {
  return { [field]: !policy[field] };
}
