/** Shared bookkeeping for the re-implemented peers: a token per key with the expiry the peer was told (for the sampler only). */
export interface PeerToken {
  token: string
  /** ms on the clock: sentAt + lease_duration of the last login/renew; bench instrumentation. */
  expireAt: number
}

export function earliest(tokens: Iterable<PeerToken>, marginMs: number): number | undefined {
  let min: number | undefined
  for (const t of tokens) {
    const at = t.expireAt - marginMs
    if (min === undefined || at < min) min = at
  }
  return min
}
