/**
 * The layers of lib/ (architecture issue #16), checked by `npm run depcheck`. Data flows one way:
 * ExternalSecret spec -> backend -> token session -> auth / Vault client -> Vault. Type-only imports count too:
 * they end up in the published .d.ts files. `npm test` runs it before the suite.
 */
const BASE = '^lib/(clock|types|env|redact|log|settings|spec-names)\\.ts$'
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to })

module.exports = {
  forbidden: [
    rule('no-circular', 'a cycle makes load order matter and layers meaningless', { path: '^lib/' }, { circular: true }),
    rule('base-imports-only-base', 'clock, types, env, redact, log, settings, spec-names: the bottom layer', { path: BASE }, { path: '^lib/', pathNot: BASE }),
    rule('vault-imports-only-base', 'the Vault client knows HTTP and Vault, nothing above it', { path: '^lib/vault/' }, { path: '^lib/', pathNot: [BASE, '^lib/vault/'] }),
    rule(
      'token-below-auth-metrics-backend',
      'token decisions and sessions get auth, metrics and JWTs injected',
      { path: '^lib/token/' },
      { path: '^lib/(auth/|metrics\\.ts$|backend/|kubernetes/|poller/|devserver/)' },
    ),
    rule(
      'auth-below-token-metrics-backend',
      'an auth method turns credentials into a login request, nothing more',
      { path: '^lib/auth/' },
      { path: '^lib/(token/|metrics\\.ts$|backend/|poller/|devserver/)' },
    ),
    rule('kubernetes-imports-only-base', 'service-account JWT sources depend on nothing of ours above the base', { path: '^lib/kubernetes/' }, { path: '^lib/', pathNot: [BASE, '^lib/kubernetes/'] }),
    rule('metrics-below-token-auth-backend', 'metrics observe events; they do not call into the token layer', { path: '^lib/metrics\\.ts$' }, { path: '^lib/(token|auth|backend)/' }),
    rule('backend-not-hosts', 'the backend is the library; hosts and the CLI use it, not the other way', { path: '^lib/backend/' }, { path: '^lib/(poller/|devserver/|cli\\.ts$|demo\\.ts$)' }),
    rule('poller-talks-to-a-backend-interface', 'the host drives any KES backend through its contract', { path: '^lib/poller/' }, { path: '^lib/(backend|token|auth|vault|devserver)/' }),
    rule('devserver-is-standalone', 'the dev Vault is a fake Vault: it must not share code with the client it tests', { path: '^lib/devserver/' }, { path: '^lib/(backend|token|auth|poller)/' }),
    rule('devserver-vault-types-only', 'only the transport types of lib/vault, so the dev Vault can serve in-process', { path: '^lib/devserver/' }, { path: '^lib/vault/', pathNot: '^lib/vault/transport\\.ts$' }),
    rule('devserver-vault-transport-type-only', 'type-only: no runtime code of the client in the fake', { path: '^lib/devserver/' }, { path: '^lib/vault/transport\\.ts$', dependencyTypesNot: ['type-only'] }),
    rule(
      'library-entry-excludes-hosts',
      "`kes-vault-backend` must not load the poller host, the dev Vault or the CLI (they are their own entries)",
      { path: '^lib/index\\.ts$' },
      { path: '^lib/(poller/|devserver/|cli\\.ts$|demo\\.ts$)', reachable: true },
    ),
    rule('lib-not-tests', 'shipped code never imports tests, benchmarks or examples', { path: '^lib/' }, { path: '^(test|bench|examples)/' }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
}
