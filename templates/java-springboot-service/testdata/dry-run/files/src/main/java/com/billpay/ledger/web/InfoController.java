package com.billpay.ledger.web;

import java.util.Map;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Describes the running service; health and metrics come from Spring Boot Actuator. */
@RestController
public class InfoController {

    private final String version;

    public InfoController(@Value("${app.version:dev}") String version) {
        this.version = version;
    }

    @GetMapping("/api/info")
    public Map<String, String> info() {
        return Map.of("service", "ledger-sync", "version", version);
    }
}
