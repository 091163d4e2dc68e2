// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ReentrantToken — an attacker's ERC-20 for the executor's re-entrancy tests.
/// @notice A working ERC-20 whose every `transfer` and `transferFrom` (once `arm`ed) calls
/// `target` with each of the armed calldatas, in the middle of the transfer — that is,
/// while the executor is inside its own `run` with its transient lock set and a lender
/// or pool recorded as the expected caller. Each call's outcome is counted and every
/// revert kept, so a test can read what the executor answered; a call that succeeded
/// would be re-entrancy the executor failed to refuse. Never deployed outside tests.
contract ReentrantToken {
    string public name = "Reentrant";
    string public symbol = "EVIL";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    address public target;
    bytes[] private _attacks;
    uint256 public attempts;
    uint256 public successes;
    bytes[] private _reverts;
    bool private _inside;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint256 supply) {
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function arm(address target_, bytes[] calldata attacks) external {
        target = target_;
        delete _attacks;
        for (uint256 i = 0; i < attacks.length; i++) {
            _attacks.push(attacks[i]);
        }
    }

    /// What the target answered to every refused call, in order.
    function reverts() external view returns (bytes[] memory) {
        return _reverts;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        _attack();
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "EVIL: allowance");
        if (allowed != type(uint256).max) {
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        _attack();
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        require(balanceOf[from] >= amount, "EVIL: balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }

    function _attack() private {
        if (target == address(0) || _inside) {
            return;
        }
        _inside = true;
        for (uint256 i = 0; i < _attacks.length; i++) {
            attempts += 1;
            (bool ok, bytes memory answer) = target.call(_attacks[i]);
            if (ok) {
                successes += 1;
            } else {
                _reverts.push(answer);
            }
        }
        _inside = false;
    }
}
