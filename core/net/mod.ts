/**
 * The network edge: the front door (Perch's public listener with header,
 * body and idle timeouts and a connection cap), the HTTP/1.1 request framer
 * it uses, the cap on concurrent streaming responses, and response bodies
 * whose chunks are freed once sent.
 *
 * @module
 */
export {
  type DropReason,
  FrontDoor,
  type FrontDoorLimits,
  type FrontDoorOptions,
} from "./front_door.ts";
export { FrameError, type FramePhase, RequestFramer } from "./request_framer.ts";
export { STREAM_PATHS, StreamLimiter } from "./stream_limiter.ts";
export { PublicAddress } from "./public_address.ts";
export { ownedChunk, relayBody } from "./body_chunks.ts";
