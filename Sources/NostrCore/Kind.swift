/// Kinds the agent treats specially, by name rather than by number.
public enum Kind {
    /// NIP-01 user metadata (profile): replaceable, and read with relay lists but not a reason
    /// to change where an author is read from.
    public static let metadata = 0
    /// NIP-01 short text note.
    public static let textNote = 1
    /// NIP-94 file metadata: its `x` tag names a blob.
    public static let fileMetadata = 1063
    /// BUD-03 user server list: the Blossom servers an author uploads to.
    public static let blossomServerList = 10063
    /// BUD-01 Blossom authorization event.
    public static let blossomAuthorization = 24242
    /// NIP-09 deletion request.
    public static let deletion = 5
    /// NIP-04 encrypted direct message (legacy), signed by the sender, `p`-tagged to the recipient.
    public static let encryptedDirectMessage = 4
    /// NIP-62 request to vanish: the author asks relays to forget everything up to its `created_at`.
    public static let requestToVanish = 62
    /// NIP-59 gift wrap (NIP-17 private messages): signed by a throwaway key, `p`-tagged to the recipient.
    public static let giftWrap = 1059
    /// NIP-65 relay list.
    public static let relayList = 10002
    /// NIP-17 relays where a user receives private messages.
    public static let dmRelayList = 10050
    /// NIP-42 authentication.
    public static let clientAuthentication = 22242
    /// The kinds of private messages, read from a recipient's DM relays.
    public static let privateMessages: Set<Int> = [encryptedDirectMessage, giftWrap]
}
