export * from './sources.js'
export { createKubeConfig, createCoreV1Api } from './kube-config.js'
