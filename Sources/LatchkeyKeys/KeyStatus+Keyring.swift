import LatchkeyAPI
import LatchkeyCrypto
import LatchkeyStore

extension KeyStatus {
    /// The status of `ring`, with the data keys per version (`counts`) and the running replicas.
    init(ring: MasterKeyring, counts: [Int: Int], source: String, replicas: [ReplicaHeartbeat]) {
        self.init(
            currentVersion: ring.currentVersion, loadedVersions: ring.versions,
            versionsInUse: Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) }),
            dataKeys: counts.values.reduce(0, +),
            remaining: counts.filter { $0.key != ring.currentVersion }.values.reduce(0, +),
            source: source,
            replicas: replicas.map {
                ReplicaKeys(
                    id: $0.id, address: $0.address, seenAt: $0.seenAt,
                    loadedVersions: Dictionary(uniqueKeysWithValues: $0.keyFingerprints.map { (String($0.key), $0.value) }),
                    wrappingVersion: $0.wrappingVersion)
            })
    }
}
