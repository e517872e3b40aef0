/** Child process of bench/run.ts: runs the RunSpecs it is sent, one at a time, and sends back the results. */
import { simulate, type RunSpec } from './lib/simulate.js'

process.on('message', async (msg: { id: number; spec: RunSpec }) => {
  try {
    const result = await simulate(msg.spec)
    process.send!({ id: msg.id, result })
  } catch (err) {
    process.send!({ id: msg.id, error: (err as Error).stack ?? String(err) })
  }
})
process.send!({ ready: true })
