/// A local session that receives `presence.changed` frames of the rooms it joined.
public protocol PresenceListener: AnyObject, Sendable {
    func deliver(_ frame: String) -> Bool
}
