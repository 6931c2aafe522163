/**
 * Worker entry of {@linkcode BlockWriter}: announces itself with
 * {@linkcode WORKER_READY} once its modules have loaded, then runs one block
 * job per message (flush or compact) and posts the result back.
 *
 * @module
 */
import { type BlockJob, type BlockJobResult, runBlockJob, WORKER_READY } from "./block_writer.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<BlockJob>) => void) | null;
  postMessage(m: BlockJobResult | typeof WORKER_READY): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = async (e) => {
  scope.postMessage(await runBlockJob(e.data));
};
scope.postMessage(WORKER_READY);
