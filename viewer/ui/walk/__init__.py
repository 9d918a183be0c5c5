"""The guided walk for learners: W steps through the network on the live input."""
