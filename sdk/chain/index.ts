// The chain layer shared by the worker and the requester tools: typed contracts, custom-error
// decoding and a retrying transaction sender.

export {
  chainTime,
  connectContracts,
  type JobSpec,
  type PostedJob,
  type ProtocolAddresses,
  type ProtocolContracts,
  postedJobFromEvent,
  readPostedJob,
} from "./contracts.ts";
export { type DeployedProtocol, type DeployProtocolOptions, deployProtocol } from "./deploy.ts";
export {
  ChainError,
  type ChainErrorCode,
  type DecodedRevert,
  decodeRevert,
  formatRevert,
  isTransientRpcError,
  revertDataOf,
} from "./errors.ts";
export { type EscrowPermit, PERMIT_TYPES, signPermit } from "./permit.ts";
export { checkChainId, connectRpc, type RpcOptions } from "./rpc.ts";
export {
  type SendOptions,
  shortReason,
  type TxEvent,
  TxSender,
  type TxSenderOptions,
} from "./sender.ts";
