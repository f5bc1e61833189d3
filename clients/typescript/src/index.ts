export { SandboxError, type Problem, type ProblemCode } from './errors';
export {
  Sandbox,
  type Batch,
  type BatchRequest,
  type ExecuteRequest,
  type Execution,
  type DebugRecord,
  type ExecutionList,
  type ExecutionListQuery,
  type Runtimes,
  type SandboxOptions,
  type StreamEvent,
  type Submission,
  type UploadedFile,
} from './sandbox';
export type { components, paths } from './generated/api';
