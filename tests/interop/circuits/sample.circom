pragma circom 2.0.0;

// A few hundred constraints with public inputs and outputs, for the snarkjs interop tests.
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";

template Sample() {
    signal input secret;   // private
    signal input salt;     // public
    signal input limit;    // public
    signal output digest;
    signal output below;

    component h = Poseidon(2);
    h.inputs[0] <== secret;
    h.inputs[1] <== salt;
    digest <== h.out;

    component lt = LessThan(64);
    lt.in[0] <== secret;
    lt.in[1] <== limit;
    below <== lt.out;
}

component main {public [salt, limit]} = Sample();
