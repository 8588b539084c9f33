"""The Merkle tree agrees with RFC 6962's published test vectors, and its proofs can fail."""

from __future__ import annotations

import pytest

from audit import merkle

# Certificate Transparency's RFC 6962 reference leaves and tree heads (sizes 1..8).
LEAF_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY_VECTOR = (
    2,
    8,
    [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
)

LEAVES = [merkle.leaf_hash(bytes.fromhex(h)) for h in LEAF_INPUTS]


def test_the_empty_tree_hashes_to_sha256_of_nothing():
    assert merkle.root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_tree_heads(size):
    assert merkle.root(LEAVES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_published_paths(index, size, proof):
    assert [p.hex() for p in merkle.inclusion_proof(LEAVES[:size], index)] == proof
    assert merkle.verify_inclusion(
        LEAVES[index], index, size, [bytes.fromhex(p) for p in proof], bytes.fromhex(ROOTS[7])
    )


def test_consistency_proof_matches_the_published_proof():
    old, new, proof = CONSISTENCY_VECTOR
    assert [p.hex() for p in merkle.consistency_proof(LEAVES[:new], old)] == proof
    assert merkle.verify_consistency(
        old,
        new,
        bytes.fromhex(ROOTS[old - 1]),
        bytes.fromhex(ROOTS[new - 1]),
        [bytes.fromhex(p) for p in proof],
    )


def test_every_proof_verifies_and_a_wrong_one_does_not():
    leaves = [merkle.leaf_hash(bytes([i, i * 7 % 256])) for i in range(37)]
    for size in range(1, len(leaves) + 1):
        root = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves[:size], index)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
            other = leaves[(index + 1) % size]
            if other != leaves[index]:
                assert not merkle.verify_inclusion(other, index, size, proof, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(leaves[:size], old)
            old_root = merkle.root(leaves[:old])
            assert merkle.verify_consistency(old, size, old_root, root, proof)
            if old < size:
                assert not merkle.verify_consistency(old, size, root, root, proof)


def test_the_frontier_tracks_the_root_as_leaves_arrive():
    frontier = merkle.MerkleFrontier()
    for size, leaf in enumerate(LEAVES, start=1):
        frontier.append(leaf)
        restored = merkle.MerkleFrontier.from_hex(frontier.size, frontier.to_hex())
        assert restored.root().hex() == ROOTS[size - 1]
