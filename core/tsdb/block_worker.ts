/**
 * Worker entry of {@linkcode BlockWriter}: runs one block job per message
 * (flush or compact) and posts the result back.
 *
 * @module
 */
import { type BlockJob, type BlockJobResult, runBlockJob } from "./block_writer.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<BlockJob>) => void) | null;
  postMessage(m: BlockJobResult): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = async (e) => {
  scope.postMessage(await runBlockJob(e.data));
};
